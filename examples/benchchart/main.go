// Command benchchart turns the JSON lines of examples/loadgen (as
// bench/run.sh collects them) into a markdown table and a chart: requests
// per second and p99 latency against connections, one line per server, the
// Node reference beside webchatid.
//
// Usage:
//
//	benchchart [-md FILE] [-chart FILE.svg|FILE.png] [-modes fresh,returning] [-ref LABEL] [-note TEXT] RESULTS.jsonl...
//
// Results with the same label, mode and connection count are rounds of one
// measurement: the table and the chart show their medians (req/s, p50, p99
// each taken separately), and the table says how many rounds there were.
// Results of -mode sign (bare RSA signing) are drawn as a horizontal line,
// the machine's signing ceiling. Labels keep the order in which they first
// appear in the input. Without -md the table goes to standard output.
//
// Results with the server's memory (loadgen -server-pid: its peak RSS
// during each run alone) add a table of peak RSS per server, mode and
// connection count, the highest of the rounds, and the highest of all its
// runs. Results with CPU figures (client_cpu_us_per_req, and with
// -server-pid server_cpu_us_per_req) add a table of CPU time per request,
// loadgen's and the server's, medians of the rounds: unlike throughput it
// survives a busy machine.
//
// This program is the only one in the module that imports gonum.org/v1/plot;
// the library's packages never do (layering_test.go checks it).
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "benchchart:", err)
		os.Exit(1)
	}
}

// result is the part of a loadgen JSON line this program reads.
type result struct {
	Label      string           `json:"label"`
	Mode       string           `json:"mode"`
	Conns      int              `json:"conns"`
	RPS        float64          `json:"rps"`
	OKRPS      float64          `json:"ok_rps"`
	Requests   int64            `json:"requests"`
	Errors     int64            `json:"errors"`
	Status     map[string]int64 `json:"status"`
	Experiment string           `json:"goexperiment"`
	GOMAXPROCS int              `json:"gomaxprocs"`
	Latency    struct {
		P50 float64 `json:"p50"`
		P99 float64 `json:"p99"`
	} `json:"latency_ms"`
	Refused *struct {
		P99 float64 `json:"p99"`
	} `json:"refused_latency_ms"`
	RefusedArrival *struct {
		P99 float64 `json:"p99"`
	} `json:"refused_arrival_latency_ms"`
	ServerRSS *struct {
		Start int64 `json:"start_kb"`
		Peak  int64 `json:"peak_kb"`
	} `json:"server_rss_kb"`
	ClientCPU float64 `json:"client_cpu_us_per_req"`
	ServerCPU float64 `json:"server_cpu_us_per_req"`
}

// point is the median of the rounds of one label, mode and connection count.
type point struct {
	conns                int
	rounds               int
	rps, okRPS, p50, p99 float64
	errors, refused      int64 // summed over the rounds
	requests             int64
	refusedP99           float64 // median over rounds that refused any
	refusedArrP99        float64 // the same, ended at the kernel's receive time (NaN: not measured)
	peakKB, startKB      int64   // the highest peak RSS of the rounds and its run's start RSS; 0: not measured
	clientCPU, serverCPU float64 // µs per request, median over rounds that have it; NaN: none
}

// series is one label in one mode.
type series struct {
	label  string
	mode   string
	points []point // by conns
}

// median returns the median of xs (the mean of the middle two for an even
// count), or NaN for none. xs is sorted in place.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	sort.Float64s(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

// readResults reads JSON lines; blank lines are skipped.
func readResults(r io.Reader, name string) ([]result, error) {
	var out []result
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		var res result
		if err := json.Unmarshal([]byte(text), &res); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		if res.Label == "" {
			res.Label = res.Mode
		}
		out = append(out, res)
	}
	return out, sc.Err()
}

// summarize groups results into series (labels in order of first
// appearance) with the median of each group's rounds.
func summarize(results []result) []series {
	type key struct {
		label, mode string
		conns       int
	}
	groups := map[key][]result{}
	var order []key
	for _, r := range results {
		k := key{r.Label, r.Mode, r.Conns}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], r)
	}
	var out []series
	index := map[[2]string]int{}
	for _, k := range order {
		rs := groups[k]
		var rps, ok, p50, p99, rp99, rap99, ccpu, scpu []float64
		p := point{conns: k.conns, rounds: len(rs)}
		for _, r := range rs {
			rps = append(rps, r.RPS)
			ok = append(ok, r.OKRPS)
			p50 = append(p50, r.Latency.P50)
			p99 = append(p99, r.Latency.P99)
			p.errors += r.Errors
			p.requests += r.Requests
			p.refused += r.Status["503"] + r.Status["429"]
			if r.Refused != nil {
				rp99 = append(rp99, r.Refused.P99)
			}
			if r.RefusedArrival != nil {
				rap99 = append(rap99, r.RefusedArrival.P99)
			}
			if m := r.ServerRSS; m != nil && m.Peak > p.peakKB {
				p.peakKB, p.startKB = m.Peak, m.Start
			}
			if r.ClientCPU > 0 {
				ccpu = append(ccpu, r.ClientCPU)
			}
			if r.ServerCPU > 0 {
				scpu = append(scpu, r.ServerCPU)
			}
		}
		p.clientCPU, p.serverCPU = median(ccpu), median(scpu)
		p.rps, p.okRPS, p.p50, p.p99 = median(rps), median(ok), median(p50), median(p99)
		p.refusedP99, p.refusedArrP99 = median(rp99), median(rap99)
		sk := [2]string{k.label, k.mode}
		i, found := index[sk]
		if !found {
			i = len(out)
			index[sk] = i
			out = append(out, series{label: k.label, mode: k.mode})
		}
		out[i].points = append(out[i].points, p)
	}
	for i := range out {
		slices.SortFunc(out[i].points, func(a, b point) int { return a.conns - b.conns })
	}
	return out
}

// thousands writes n with thin spaces between groups of three digits.
func thousands(n float64) string {
	s := strconv.FormatFloat(math.Round(n), 'f', 0, 64)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			b.WriteString("\u202f")
		}
		b.WriteRune(r)
	}
	return b.String()
}

// ms formats milliseconds with about three significant digits.
func ms(v float64) string {
	switch {
	case math.IsNaN(v):
		return "—"
	case v >= 1000:
		return strconv.FormatFloat(v/1000, 'f', 2, 64) + " s"
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64) + " ms"
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64) + " ms"
	}
	return strconv.FormatFloat(v, 'f', 2, 64) + " ms"
}

// writeTable writes one markdown table per HTTP mode (rows: labels;
// columns: connection counts) and a line per signing baseline.
func writeTable(w io.Writer, all []series, ref string) {
	var modes []string
	conns := map[string][]int{}
	for _, s := range all {
		if s.mode == "sign" {
			continue
		}
		if !slices.Contains(modes, s.mode) {
			modes = append(modes, s.mode)
		}
		for _, p := range s.points {
			if !slices.Contains(conns[s.mode], p.conns) {
				conns[s.mode] = append(conns[s.mode], p.conns)
			}
		}
	}
	for _, mode := range modes {
		cs := conns[mode]
		slices.Sort(cs)
		refAt := map[int]float64{}
		for _, s := range all {
			if s.mode == mode && s.label == ref {
				for _, p := range s.points {
					refAt[p.conns] = p.okRPS
				}
			}
		}
		if strings.HasPrefix(mode, "wrk") { // bench/run.sh --wrk: wrk's latency is of every answer
			fmt.Fprintf(w, "**%s** — wrk, not loadgen: tokens/s (× the reference) · p50 / p99 of all answers, refused ones included "+
				"(wrk asks again at once, without waiting Retry-After); median of rounds\n\n", mode)
		} else {
			fmt.Fprintf(w, "**%s** — tokens/s (× the reference) · p50 / p99; refused: the share of answers that were 503 or 429 "+
				"(p99 of their latency as loadgen read them, and as the kernel received them: what a client on cores of its own would see); median of rounds\n\n", mode)
		}
		fmt.Fprint(w, "| server |")
		for _, c := range cs {
			fmt.Fprintf(w, " c%d |", c)
		}
		fmt.Fprint(w, "\n|---|")
		for range cs {
			fmt.Fprint(w, "---|")
		}
		fmt.Fprintln(w)
		for _, s := range all {
			if s.mode != mode {
				continue
			}
			fmt.Fprintf(w, "| %s |", s.label)
			for _, c := range cs {
				i := slices.IndexFunc(s.points, func(p point) bool { return p.conns == c })
				if i < 0 {
					fmt.Fprint(w, " |")
					continue
				}
				p := s.points[i]
				cell := thousands(p.okRPS)
				if r := refAt[c]; r > 0 && s.label != ref {
					cell += fmt.Sprintf(" (%.2f×)", p.okRPS/r)
				}
				cell += " · " + ms(p.p50) + " / " + ms(p.p99)
				if p.refused > 0 && p.requests > 0 {
					cell += fmt.Sprintf(" · %.1f %% refused", 100*float64(p.refused)/float64(p.requests))
					if !math.IsNaN(p.refusedP99) {
						cell += " (p99 " + ms(p.refusedP99)
						if !math.IsNaN(p.refusedArrP99) {
							cell += ", arrived " + ms(p.refusedArrP99)
						}
						cell += ")"
					}
				}
				if p.errors > 0 {
					cell += fmt.Sprintf(" · %d errors", p.errors)
				}
				if p.rounds > 1 {
					cell += fmt.Sprintf(" · %d rounds", p.rounds)
				}
				fmt.Fprintf(w, " %s |", cell)
			}
			fmt.Fprintln(w)
		}
		fmt.Fprintln(w)
	}
	writeRSS(w, all)
	writeCPU(w, all)
	for _, s := range all {
		if s.mode != "sign" {
			continue
		}
		for _, p := range s.points {
			fmt.Fprintf(w, "- %s: %s signatures/s on %d goroutines (RSA-2048, rsa.SignPKCS1v15; median of %d)\n",
				s.label, thousands(p.rps), p.conns, p.rounds)
		}
	}
}

// writeRSS writes the table of peak RSS: one row per server, one column
// per mode and connection count, and the highest of all its runs; nothing
// when no result has the server's RSS.
func writeRSS(w io.Writer, all []series) {
	type col struct {
		mode  string
		conns int
	}
	var cols []col
	var labels []string
	var modes []string
	for _, s := range all {
		if !slices.Contains(modes, s.mode) {
			modes = append(modes, s.mode)
		}
		for _, p := range s.points {
			if p.peakKB > 0 && !slices.Contains(labels, s.label) {
				labels = append(labels, s.label)
			}
			if c := (col{s.mode, p.conns}); p.peakKB > 0 && !slices.Contains(cols, c) {
				cols = append(cols, c)
			}
		}
	}
	if len(cols) == 0 {
		return
	}
	slices.SortStableFunc(cols, func(a, b col) int {
		if a.mode != b.mode {
			return slices.Index(modes, a.mode) - slices.Index(modes, b.mode)
		}
		return a.conns - b.conns
	})
	mb := func(kb int64) string { return strconv.FormatFloat(float64(kb)/1024, 'f', 0, 64) }
	fmt.Fprint(w, "**peak RSS**, MB — the server process's VmHWM during each load run alone (warm-up included; "+
		"reset before the run), the highest of the rounds, and in brackets the RSS that run started from\n\n")
	fmt.Fprint(w, "| server |")
	for _, c := range cols {
		fmt.Fprintf(w, " %s c%d |", c.mode, c.conns)
	}
	fmt.Fprint(w, " all runs |\n|---|")
	for range cols {
		fmt.Fprint(w, "---|")
	}
	fmt.Fprintln(w, "---|")
	for _, label := range labels {
		fmt.Fprintf(w, "| %s |", label)
		var top int64
		for _, c := range cols {
			cell := ""
			for _, s := range all {
				if s.label != label || s.mode != c.mode {
					continue
				}
				for _, p := range s.points {
					if p.conns == c.conns && p.peakKB > 0 {
						cell = mb(p.peakKB) + " (" + mb(p.startKB) + ")"
						top = max(top, p.peakKB)
					}
				}
			}
			if cell == "" {
				fmt.Fprint(w, " |")
				continue
			}
			fmt.Fprintf(w, " %s |", cell)
		}
		fmt.Fprintf(w, " %s |\n", mb(top))
	}
	fmt.Fprintln(w)
}

// writeCPU writes the table of CPU time per request of loadgen (getrusage)
// and of the server (-server-pid, /proc/PID/stat), medians of the rounds:
// one row per server, one column per HTTP mode and connection count;
// nothing when no result has them.
func writeCPU(w io.Writer, all []series) {
	type col struct {
		mode  string
		conns int
	}
	var cols []col
	for _, s := range all {
		for _, p := range s.points {
			if c := (col{s.mode, p.conns}); s.mode != "sign" && !math.IsNaN(p.clientCPU) && !slices.Contains(cols, c) {
				cols = append(cols, c)
			}
		}
	}
	if len(cols) == 0 {
		return
	}
	us := func(v float64) string {
		if math.IsNaN(v) {
			return "–"
		}
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	fmt.Fprint(w, "**CPU per request**, µs — loadgen's own / the server's (user + system over the measured part of each run; median of rounds)\n\n| server |")
	for _, c := range cols {
		fmt.Fprintf(w, " %s c%d |", c.mode, c.conns)
	}
	fmt.Fprint(w, "\n|---|")
	for range cols {
		fmt.Fprint(w, "---|")
	}
	fmt.Fprintln(w)
	var labels []string
	for _, s := range all {
		if s.mode != "sign" && !slices.Contains(labels, s.label) {
			labels = append(labels, s.label)
		}
	}
	for _, label := range labels {
		fmt.Fprintf(w, "| %s |", label)
		for _, c := range cols {
			cell := ""
			for _, s := range all {
				if s.label != label || s.mode != c.mode {
					continue
				}
				for _, p := range s.points {
					if p.conns == c.conns && !math.IsNaN(p.clientCPU) {
						cell = us(p.clientCPU) + " / " + us(p.serverCPU)
					}
				}
			}
			fmt.Fprintf(w, " %s |", cell)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
}

// drawChart draws a grid: one row per mode, columns req/s and p99, against
// connections on a log₂ axis.
func drawChart(file string, all []series, modes []string, ref, note string) error {
	var ceilings []series
	for _, s := range all {
		if s.mode == "sign" {
			ceilings = append(ceilings, s)
		}
	}
	var labels []string
	for _, s := range all {
		if s.mode != "sign" && !slices.Contains(labels, s.label) {
			labels = append(labels, s.label)
		}
	}
	style := func(label string) (color.Color, []vg.Length) {
		if label == ref {
			return color.Gray{Y: 110}, []vg.Length{vg.Points(5), vg.Points(3)}
		}
		i := slices.Index(labels, label)
		return plotutil.Color(i), nil
	}
	var rows [][]*plot.Plot
	for _, mode := range modes {
		var xs []int
		for _, s := range all {
			if s.mode == mode {
				for _, p := range s.points {
					if !slices.Contains(xs, p.conns) {
						xs = append(xs, p.conns)
					}
				}
			}
		}
		if len(xs) == 0 {
			return fmt.Errorf("no results in mode %q", mode)
		}
		slices.Sort(xs)
		var ticks plot.ConstantTicks
		for _, x := range xs {
			ticks = append(ticks, plot.Tick{Value: float64(x), Label: strconv.Itoa(x)})
		}
		rps, p99 := plot.New(), plot.New()
		rps.Title.Text = mode + " visitors: tokens/s (higher is better)"
		p99.Title.Text = mode + " visitors: p99 latency (lower is better)"
		if note != "" && len(rows) == 0 {
			rps.Title.Text = note + "\n" + rps.Title.Text
			p99.Title.Text = note + "\n" + p99.Title.Text
		}
		p99.Y.Label.Text = "log scale"
		p99.Y.Scale = plot.LogScale{}
		p99.Y.Tick.Marker = latencyTicks{}
		rps.Y.Min = 0
		rps.Y.Tick.Marker = wholeTicks{}
		for _, p := range []*plot.Plot{rps, p99} {
			p.X.Label.Text = "connections"
			p.X.Scale = plot.LogScale{}
			p.X.Tick.Marker = ticks
			p.Add(plotter.NewGrid())
			p.Legend.Top = true
			p.Legend.Left = p == p99
		}
		for _, s := range all {
			if s.mode != mode {
				continue
			}
			var a, b plotter.XYs
			for _, pt := range s.points {
				a = append(a, plotter.XY{X: float64(pt.conns), Y: pt.okRPS})
				if pt.p99 > 0 {
					b = append(b, plotter.XY{X: float64(pt.conns), Y: pt.p99})
				}
			}
			c, dash := style(s.label)
			for i, xy := range []plotter.XYs{a, b} {
				if len(xy) == 0 {
					continue
				}
				l, sc, err := plotter.NewLinePoints(xy)
				if err != nil {
					return err
				}
				l.Color, l.Dashes, l.Width = c, dash, vg.Points(1.5)
				sc.Color, sc.Shape = c, draw.CircleGlyph{}
				p := []*plot.Plot{rps, p99}[i]
				p.Add(l, sc)
				if i == 0 {
					p.Legend.Add(s.label, l, sc)
				}
			}
		}
		for i, s := range ceilings {
			for _, pt := range s.points {
				lo, hi := float64(xs[0]), float64(xs[len(xs)-1])
				if lo == hi {
					lo, hi = lo/1.5, hi*1.5
				}
				line, err := plotter.NewLine(plotter.XYs{{X: lo, Y: pt.rps}, {X: hi, Y: pt.rps}})
				if err != nil {
					return err
				}
				line.Color = color.Gray{Y: 60}
				line.Dashes = []vg.Length{vg.Points(1), vg.Points(3 + float64(i))}
				rps.Add(line)
				rps.Legend.Add(fmt.Sprintf("%s (%d goroutines)", s.label, pt.conns), line)
			}
		}
		// Headroom above the highest line for the legend, one line per entry.
		entries := len(labels)
		for _, s := range ceilings {
			entries += len(s.points)
		}
		top := 0.0
		for _, s := range all {
			if s.mode == mode || s.mode == "sign" {
				for _, pt := range s.points {
					top = max(top, pt.okRPS, pt.rps*boolf(s.mode == "sign"))
				}
			}
		}
		rps.Y.Max = top * (1.1 + 0.09*float64(entries))
		rows = append(rows, []*plot.Plot{rps, p99})
	}

	w, h := 26*vg.Centimeter, vg.Length(len(rows))*10*vg.Centimeter
	var canvas interface {
		vg.CanvasSizer
		io.WriterTo
	}
	switch strings.ToLower(filepath.Ext(file)) {
	case ".svg":
		canvas = vgsvg.New(w, h)
	case ".png":
		canvas = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(110), vgimg.UseBackgroundColor(color.White))}
	default:
		return fmt.Errorf("-chart %s: want a .svg or .png file", file)
	}
	dc := draw.New(canvas)
	tiles := draw.Tiles{Rows: len(rows), Cols: 2, PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 4,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	cells := plot.Align(rows, tiles, dc)
	for i := range rows {
		for j := range rows[i] {
			rows[i][j].Draw(cells[i][j])
		}
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := canvas.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// latencyTicks mark 1, 2 and 5 times each power of ten of milliseconds,
// for a log axis.
type latencyTicks struct{}

func (latencyTicks) Ticks(lo, hi float64) []plot.Tick {
	var ts []plot.Tick
	for e := math.Floor(math.Log10(max(lo, 1e-3))); math.Pow(10, e) <= hi*10; e++ {
		for _, m := range []float64{1, 2, 5} {
			v := m * math.Pow(10, e)
			if v >= lo && v <= hi {
				ts = append(ts, plot.Tick{Value: v, Label: ms(v)})
			}
		}
	}
	return ts
}

// wholeTicks are plot's default ticks labelled as whole numbers.
type wholeTicks struct{}

func (wholeTicks) Ticks(lo, hi float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = thousands(ts[i].Value)
		}
	}
	return ts
}

func boolf(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("benchchart", flag.ContinueOnError)
	fs.SetOutput(stderr)
	mdFile := fs.String("md", "", "write the markdown table to `file` (default: standard output)")
	chart := fs.String("chart", "", "draw the chart into `file` (.svg or .png)")
	modes := fs.String("modes", "fresh,returning", "comma-separated `modes` to draw, one row each")
	ref := fs.String("ref", "node reference", "`label` of the reference server: drawn grey and dashed, and the table's 1.00×")
	note := fs.String("note", "", "`text` above the chart's titles (e.g. where the figures come from)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("no results file given (JSON lines from examples/loadgen -json)")
	}
	var results []result
	for _, name := range fs.Args() {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		rs, err := readResults(f, name)
		f.Close()
		if err != nil {
			return err
		}
		results = append(results, rs...)
	}
	all := summarize(results)
	var table bytes.Buffer
	writeTable(&table, all, *ref)
	if *mdFile != "" {
		if err := os.WriteFile(*mdFile, table.Bytes(), 0o644); err != nil {
			return err
		}
	} else if _, err := stdout.Write(table.Bytes()); err != nil {
		return err
	}
	if *chart != "" {
		var ms []string
		for _, m := range strings.Split(*modes, ",") {
			if m = strings.TrimSpace(m); m != "" {
				ms = append(ms, m)
			}
		}
		if err := drawChart(*chart, all, ms, *ref, *note); err != nil {
			return err
		}
	}
	return nil
}
