// Package seeds derives kiln's random generators' seeds from the run seed and the identity of
// what each generator decides, never from scheduling, so that shards and training streams are
// the same whatever the number of workers. Every seed kiln draws masks from is derived here:
// pipeline's static masking (one instance of one pass over one document) and the trainer's
// dynamic masking (one row at one position of the stream).
package seeds

// golden is 2^64 divided by the golden ratio, SplitMix64's increment.
const golden = 0x9e3779b97f4a7c15

// Mix64 is SplitMix64's finaliser: a bijective scramble of x.
func Mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// docPass identifies one pass over one document.
func docPass(docID uint64, pass int) uint64 {
	return Mix64(docID ^ Mix64(uint64(pass)+golden))
}

// Doc returns the PCG seed of one pass over one document: the pairing's draws.
func Doc(seed, docID uint64, pass int) (uint64, uint64) {
	return seed, docPass(docID, pass)
}

// StaticMask returns the PCG seed that statically masks instance i of one pass over one
// document. Its stream is independent of Doc's, so masking can run on any worker.
func StaticMask(seed, docID uint64, pass, i int) (uint64, uint64) {
	const salt = 0x6d61736b696e6721 // "masking!"
	return seed ^ salt, Mix64(docPass(docID, pass) + uint64(i) + salt)
}

// DynamicMask returns the PCG seed that masks, at read time, the row at index row of epoch
// epoch of a training stream: the same row is masked differently in each epoch, and the same
// way in a resumed run.
func DynamicMask(seed uint64, epoch int, row int64) (uint64, uint64) {
	const salt = 0x6d61736b696e67 // "masking"
	return seed ^ salt, uint64(epoch)<<40 | uint64(row)
}
