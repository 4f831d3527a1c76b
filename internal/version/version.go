// Package version holds kiln's version, which every shard's metadata records. kiln and
// kiln-beam both use this one constant, so that the shards of the two engines are the same
// bytes.
package version

// Kiln is kiln's version, stored in every shard's metadata.
const Kiln = "0.1.0"
