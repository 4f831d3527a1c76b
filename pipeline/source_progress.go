package pipeline

// SetProgress makes Run call f with the number of bytes read from disk since the last call
// (compressed bytes for .gz and .zst), for a progress bar. Call it before Run.
func (s *Source) SetProgress(f func(n int64)) { s.progress = f }
