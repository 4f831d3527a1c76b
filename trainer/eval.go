package trainer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/kiln-bert/kiln/masking"
)

// EvalConfig says which rows Eval reads.
type EvalConfig struct {
	Data      string          // directory of kiln shards, read in manifest order
	Limit     int64           // the first Limit rows; 0: all
	BatchSize int             // rows per forward pass (default 32); the result does not depend on it
	Masker    *masking.Masker // for unmasked shards
	Seed      uint64          // seeds the masking of unmasked shards
}

// EvalResult is the loss of a model on a set of rows, as `kiln loss` prints it.
type EvalResult struct {
	MLMLoss   float64 `json:"mlm_loss"`   // mean over all masked positions of all rows
	NSPLoss   float64 `json:"nsp_loss"`   // mean over all rows with an NSP label
	TotalLoss float64 `json:"total_loss"` // MLM + NSP
	Rows      int64   `json:"rows"`
}

// String formats the result for a log line.
func (r EvalResult) String() string {
	return fmt.Sprintf("mlm_loss %.6f nsp_loss %.6f total_loss %.6f rows %d", r.MLMLoss, r.NSPLoss, r.TotalLoss, r.Rows)
}

// Eval computes the losses of model on the first cfg.Limit rows of the shards in cfg.Data,
// without dropout. It first checks the shards' manifest (see CheckShards) against the model:
// ids inside its vocabulary (and the same vocabulary as its training data, when the model
// records it), rows within its positions, token types within its type vocabulary; and the
// memory a batch needs against this machine's.
func Eval(ctx context.Context, model *Model, cfg EvalConfig) (EvalResult, error) {
	if cfg.BatchSize == 0 {
		cfg.BatchSize = 32
	}
	if err := cfg.Validate(); err != nil {
		return EvalResult{}, err
	}
	man, err := CheckShards(cfg.Data)
	if err != nil {
		return EvalResult{}, err
	}
	if err := checkModelData(cfg.Data, man, model.cfg, model.vocabSHA256); err != nil {
		return EvalResult{}, err
	}
	if err := model.cfg.CheckMemory(cfg.BatchSize, man.Info.MaxSeqLen, false); err != nil {
		return EvalResult{}, err
	}
	l, err := NewLoader(ctx, LoaderConfig{Dir: cfg.Data, BatchSize: cfg.BatchSize, Seed: cfg.Seed,
		Epochs: 1, Limit: cfg.Limit, Masker: cfg.Masker})
	if err != nil {
		return EvalResult{}, err
	}
	defer l.Close()
	return EvalSource(ctx, model, l)
}

// EvalSource computes the losses of model on every batch of src, without dropout. The MLM loss
// is averaged over all masked positions and the NSP loss over all labelled rows, as if the rows
// were one batch.
func EvalSource(ctx context.Context, model *Model, src Source) (EvalResult, error) {
	var res EvalResult
	var mlm, nsp float64
	var nMLM, nNSP int
	for {
		b, err := src.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return res, err
		}
		st, err := model.Loss(ctx, b.Rows)
		if err != nil {
			return res, fmt.Errorf("rows %d-%d: %w", res.Rows, res.Rows+int64(len(b.Rows))-1, err)
		}
		mlm += st.MLMLoss * float64(st.MLMCount)
		nsp += st.NSPLoss * float64(st.NSPCount)
		nMLM += st.MLMCount
		nNSP += st.NSPCount
		res.Rows += int64(len(b.Rows))
	}
	if res.Rows == 0 {
		return res, errors.New("no rows to evaluate")
	}
	if nMLM > 0 {
		res.MLMLoss = mlm / float64(nMLM)
	}
	if nNSP > 0 {
		res.NSPLoss = nsp / float64(nNSP)
	}
	res.TotalLoss = res.MLMLoss + res.NSPLoss
	if math.IsNaN(res.TotalLoss) || math.IsInf(res.TotalLoss, 0) {
		return res, fmt.Errorf("loss is not finite (mlm %v, nsp %v): the model's weights overflow on these rows (or hold NaN/Inf)", res.MLMLoss, res.NSPLoss)
	}
	return res, nil
}
