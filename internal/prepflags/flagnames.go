package prepflags

import "strings"

// pipelineFlags replaces the names of pipeline's settings and arguments, as its errors give
// them (README "Errors"), with the flags of kiln and kiln-beam that set them.
var pipelineFlags = strings.NewReplacer(
	"SourceOptions.TextColumn", "--text-column",
	"SourceOptions.MaxRowGroupBytes", "--max-row-group-bytes",
	"give its path (vocabPath)", "give --vocab FILE",
	"vocabPath: ", "--vocab: ",
)

// flagNamed is an error whose message names the flags for pipeline's settings.
type flagNamed struct{ err error }

func (e flagNamed) Error() string { return pipelineFlags.Replace(e.err.Error()) }
func (e flagNamed) Unwrap() error { return e.err }

// FlagNames returns err with the flags of kiln's commands named for the pipeline settings its
// message names (SourceOptions.TextColumn is --text-column, ...); nil stays nil. The commands
// call it on the error they print.
func FlagNames(err error) error {
	if err == nil {
		return nil
	}
	return flagNamed{err}
}
