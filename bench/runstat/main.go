// Command runstat runs several commands in turn, interleaved, REPS times each, and prints for
// each its wall time, CPU time (user + system, from the kernel's accounting of the child, in
// microseconds) and peak RSS: the least, the median and the largest over the runs. Interleaving
// gives each command the same share of a noisy machine; CPU time is less sensitive to other
// load than wall time. The commands' output is discarded; a failing command is an error.
//
//	go run ./bench/runstat -reps 10 kiln -clean OUT -- kiln prep ... --output OUT --- hf -- node x.js ...
//
// Each command is "NAME [-clean DIR] -- ARGS...", commands separated by "---"; -clean removes
// DIR before each run (outside the measurement).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"
)

type spec struct {
	name, clean string
	args        []string
}

type stats struct {
	Name      string  `json:"name"`
	Reps      int     `json:"reps"`
	WallMin   float64 `json:"wall_s_min"`
	WallMed   float64 `json:"wall_s_median"`
	WallMax   float64 `json:"wall_s_max"`
	CPUMin    float64 `json:"cpu_s_min"`
	CPUMed    float64 `json:"cpu_s_median"`
	CPUMax    float64 `json:"cpu_s_max"`
	MaxRSSMiB float64 `json:"max_rss_mib"`
}

func main() {
	reps := flag.Int("reps", 5, "runs of each command")
	flag.Parse()
	specs, err := parse(flag.Args())
	if err == nil {
		err = run(specs, *reps)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "runstat:", err)
		os.Exit(1)
	}
}

func parse(args []string) ([]spec, error) {
	var specs []spec
	for len(args) > 0 {
		end := slices.Index(args, "---")
		if end < 0 {
			end = len(args)
		}
		part := args[:end]
		s := spec{}
		if len(part) > 0 {
			s.name, part = part[0], part[1:]
		}
		if len(part) > 2 && part[0] == "-clean" {
			s.clean, part = part[1], part[2:]
		}
		if s.name == "" || len(part) < 2 || part[0] != "--" {
			return nil, fmt.Errorf("want NAME [-clean DIR] -- ARGS..., got %q", strings.Join(args[:end], " "))
		}
		s.args = part[1:]
		specs = append(specs, s)
		args = args[min(end+1, len(args)):]
	}
	if len(specs) == 0 {
		return nil, fmt.Errorf("no command")
	}
	return specs, nil
}

func run(specs []spec, reps int) error {
	wall := make([][]float64, len(specs))
	cpu := make([][]float64, len(specs))
	rss := make([]float64, len(specs))
	for range reps {
		for i, s := range specs {
			if s.clean != "" {
				if err := os.RemoveAll(s.clean); err != nil {
					return err
				}
			}
			cmd := exec.Command(s.args[0], s.args[1:]...)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			t0 := time.Now()
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("%s: %w: %s", s.name, err, stderr.String())
			}
			wall[i] = append(wall[i], time.Since(t0).Seconds())
			ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
			cpu[i] = append(cpu[i], tv(ru.Utime)+tv(ru.Stime))
			rss[i] = max(rss[i], float64(ru.Maxrss)/1024)
		}
	}
	enc := json.NewEncoder(os.Stdout)
	for i, s := range specs {
		slices.Sort(wall[i])
		slices.Sort(cpu[i])
		st := stats{Name: s.name, Reps: reps,
			WallMin: wall[i][0], WallMed: wall[i][reps/2], WallMax: wall[i][reps-1],
			CPUMin: cpu[i][0], CPUMed: cpu[i][reps/2], CPUMax: cpu[i][reps-1], MaxRSSMiB: rss[i]}
		if err := enc.Encode(st); err != nil {
			return err
		}
	}
	return nil
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
