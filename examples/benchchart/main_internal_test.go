package main

import (
	"bytes"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{1000, 1, 2}, 2}, // one outlier round does not move it
	} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
	if !math.IsNaN(median(nil)) {
		t.Error("median(nil) is not NaN")
	}
}

// rounds: the reference and webchatid, interleaved, three rounds at c64 and
// one at c16, plus a signing baseline; one webchatid round refused some.
// The server's RSS (loadgen -server-pid) is in every webchatid run and in
// one of the reference's.
const rounds = `
{"label":"node reference","mode":"fresh","conns":64,"rps":700,"ok_rps":700,"requests":7000,"latency_ms":{"p50":80,"p99":1900}}
{"label":"webchatid memory","mode":"fresh","conns":64,"rps":1700,"ok_rps":1700,"requests":17000,"latency_ms":{"p50":40,"p99":300},"server_rss_kb":{"pid":7,"start_kb":30720,"peak_kb":40960,"end_kb":40000}}
{"label":"node reference","mode":"fresh","conns":64,"rps":800,"ok_rps":800,"requests":8000,"latency_ms":{"p50":70,"p99":2100},"server_rss_kb":{"pid":6,"start_kb":51200,"peak_kb":102400,"end_kb":90000}}
{"label":"webchatid memory","mode":"fresh","conns":64,"rps":2000,"ok_rps":1600,"requests":20000,"status":{"200":16000,"503":4000},"latency_ms":{"p50":38,"p99":200},"refused_latency_ms":{"p99":2},"refused_arrival_latency_ms":{"p99":1.5},"server_rss_kb":{"pid":7,"start_kb":35840,"peak_kb":53248,"end_kb":50000}}

{"label":"node reference","mode":"fresh","conns":64,"rps":760,"ok_rps":760,"requests":7600,"latency_ms":{"p50":75,"p99":1800}}
{"label":"webchatid memory","mode":"fresh","conns":64,"rps":1800,"ok_rps":1800,"requests":18000,"latency_ms":{"p50":45,"p99":280},"server_rss_kb":{"pid":7,"start_kb":40960,"peak_kb":46080,"end_kb":46000}}
{"label":"webchatid memory","mode":"fresh","conns":16,"rps":1500,"ok_rps":1500,"requests":15000,"errors":3,"latency_ms":{"p50":9,"p99":40},"server_rss_kb":{"pid":7,"start_kb":20480,"peak_kb":30720,"end_kb":30000}}
{"label":"bare RSA-2048 signing","mode":"sign","conns":2,"rps":2100,"ok_rps":2100,"requests":21000,"latency_ms":{"p50":0.9,"p99":1.2}}
`

func TestSummarizeTakesMediansPerGroup(t *testing.T) {
	rs, err := readResults(strings.NewReader(rounds), "rounds")
	if err != nil {
		t.Fatal(err)
	}
	all := summarize(rs)
	if len(all) != 3 || all[0].label != "node reference" || all[1].label != "webchatid memory" || all[2].mode != "sign" {
		t.Fatalf("series %+v: want reference, webchatid, sign in input order", all)
	}
	ours := all[1].points
	if len(ours) != 2 || ours[0].conns != 16 || ours[1].conns != 64 {
		t.Fatalf("points %+v: want c16 then c64", ours)
	}
	p := ours[1]
	if p.rounds != 3 || p.okRPS != 1700 || p.rps != 1800 || p.p50 != 40 || p.p99 != 280 {
		t.Errorf("c64 medians %+v: want 3 rounds, ok/s 1700, req/s 1800, p50 40, p99 280", p)
	}
	if p.refused != 4000 || p.requests != 55000 || p.refusedP99 != 2 {
		t.Errorf("c64 refused %d of %d (p99 %v), want 4000 of 55000 (p99 2)", p.refused, p.requests, p.refusedP99)
	}
	if p.peakKB != 53248 || p.startKB != 35840 {
		t.Errorf("c64 RSS peak %d kB from %d kB, want the highest round's: 53248 from 35840", p.peakKB, p.startKB)
	}
	if all[0].points[0].okRPS != 760 {
		t.Errorf("reference median %v, want 760", all[0].points[0].okRPS)
	}
}

func TestTable(t *testing.T) {
	rs, err := readResults(strings.NewReader(rounds), "rounds")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	writeTable(&b, summarize(rs), "node reference")
	out := b.String()
	for _, want := range []string{
		"| server | c16 | c64 |",
		"| node reference | | 760 · 75.0 ms / 1.90 s · 3 rounds |",
		"| webchatid memory | 1\u202f500 · 9.00 ms / 40.0 ms · 3 errors | 1\u202f700 (2.24×) · 40.0 ms / 280 ms · 7.3 % refused (p99 2.00 ms, arrived 1.50 ms) · 3 rounds |",
		"- bare RSA-2048 signing: 2\u202f100 signatures/s on 2 goroutines",
		"**peak RSS**, MB",
		"| server | fresh c16 | fresh c64 | all runs |",
		"| node reference | | 100 (50) | 100 |",
		"| webchatid memory | 30 (20) | 52 (35) | 52 |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	// wrk's lines (bench/run.sh --wrk) get a table of their own that says
	// whose figures they are; wrk has no latency of refused answers apart.
	wrk := `{"tool":"wrk","label":"webchatid memory","mode":"wrk-fresh","conns":64,"requests":1000,"rps":100,"ok_rps":90,"latency_ms":{"p50":30,"p99":300},"status":{"2xx":900,"503":100}}`
	rs, err = readResults(strings.NewReader(wrk), "wrk")
	if err != nil {
		t.Fatal(err)
	}
	b.Reset()
	writeTable(&b, summarize(rs), "node reference")
	for _, want := range []string{
		"**wrk-fresh** — wrk, not loadgen:",
		"| webchatid memory | 90 · 30.0 ms / 300 ms · 10.0 % refused |",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("wrk table lacks %q:\n%s", want, b.String())
		}
	}
	// Without any server RSS, no RSS table.
	var plain strings.Builder
	for _, line := range strings.Split(rounds, "\n") {
		if !strings.Contains(line, "server_rss_kb") {
			plain.WriteString(line + "\n")
		}
	}
	rs, err = readResults(strings.NewReader(plain.String()), "plain")
	if err != nil {
		t.Fatal(err)
	}
	b.Reset()
	writeTable(&b, summarize(rs), "node reference")
	if strings.Contains(b.String(), "RSS") {
		t.Errorf("a table without server RSS in its results has an RSS table:\n%s", b.String())
	}
}

func TestChartFiles(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "r.jsonl")
	if err := os.WriteFile(in, []byte(rounds), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"chart.svg", "chart.png"} {
		out := filepath.Join(dir, name)
		if err := run([]string{"-chart", out, "-modes", "fresh", in}, io.Discard, io.Discard); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if name == "chart.svg" && !(bytes.Contains(data, []byte("<svg")) && bytes.Contains(data, []byte("webchatid memory"))) {
			t.Errorf("%s is not an SVG naming the series", name)
		}
		if name == "chart.png" && !bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")) {
			t.Errorf("%s is not a PNG", name)
		}
	}
	if err := run([]string{"-chart", filepath.Join(dir, "c.svg"), "-modes", "returning", in}, io.Discard, io.Discard); err == nil {
		t.Error("a mode without results drew a chart")
	}
	if err := run([]string{"-chart", filepath.Join(dir, "c.gif"), in}, io.Discard, io.Discard); err == nil {
		t.Error("a .gif chart was accepted")
	}
}

func TestLatencyTicks(t *testing.T) {
	var got []string
	for _, tk := range (latencyTicks{}).Ticks(60, 2100) {
		got = append(got, tk.Label)
	}
	if want := "100 ms,200 ms,500 ms,1.00 s,2.00 s"; strings.Join(got, ",") != want {
		t.Errorf("ticks %q, want %q", strings.Join(got, ","), want)
	}
}

func TestCPUTable(t *testing.T) {
	lines := `
{"label":"node reference","mode":"fresh","conns":64,"rps":700,"ok_rps":700,"requests":7000,"latency_ms":{"p50":80,"p99":1900},"client_cpu_us_per_req":120,"server_cpu_us_per_req":2300}
{"label":"webchatid memory","mode":"fresh","conns":64,"rps":1700,"ok_rps":1700,"requests":17000,"latency_ms":{"p50":40,"p99":300},"client_cpu_us_per_req":110,"server_cpu_us_per_req":1600}
{"label":"webchatid memory","mode":"fresh","conns":64,"rps":1700,"ok_rps":1700,"requests":17000,"latency_ms":{"p50":40,"p99":300},"client_cpu_us_per_req":130,"server_cpu_us_per_req":1700}
{"label":"webchatid memory","mode":"fresh","conns":64,"rps":1700,"ok_rps":1700,"requests":17000,"latency_ms":{"p50":40,"p99":300},"client_cpu_us_per_req":900,"server_cpu_us_per_req":1650}
{"label":"webchatid memory","mode":"returning","conns":64,"rps":9000,"ok_rps":9000,"requests":90000,"latency_ms":{"p50":4,"p99":30},"client_cpu_us_per_req":15}
`
	rs, err := readResults(strings.NewReader(lines), "cpu")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	writeTable(&out, summarize(rs), "node reference")
	for _, want := range []string{
		"**CPU per request**, µs",
		"| server | fresh c64 | returning c64 |",
		"| node reference | 120 / 2300 |  |",
		"| webchatid memory | 130 / 1650 | 15 / – |", // medians of three rounds; no server figure
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
	// Results without CPU figures: no CPU table.
	out.Reset()
	rs, _ = readResults(strings.NewReader(rounds), "rounds")
	writeTable(&out, summarize(rs), "node reference")
	if strings.Contains(out.String(), "CPU per request") {
		t.Errorf("a CPU table without CPU figures:\n%s", out.String())
	}
}
