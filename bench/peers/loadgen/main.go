// The peer benchmark's load generator: `-c` keep-alive clients GET one URL for `-d` (or `-n`
// requests in all), then print one JSON line: requests, failures, requests/s, p50/p99 in ms.
// Every system is driven by this same binary, so its own cost is the same for all of them.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

type result struct {
	Requests int     `json:"requests"`
	Failures int     `json:"failures"`
	Rps      float64 `json:"rps"`
	P50Ms    float64 `json:"p50_ms"`
	P99Ms    float64 `json:"p99_ms"`
}

func main() {
	target := flag.String("url", "", "URL to GET")
	unix := flag.String("unix", "", "dial this Unix socket instead of the URL's host")
	clients := flag.Int("c", 1, "concurrent keep-alive clients")
	duration := flag.Duration("d", 0, "run for this long")
	total := flag.Int64("n", 0, "or: this many requests in all")
	header := flag.String("H", "", "one extra header, `Name: value`")
	flag.Parse()
	transport := &http.Transport{MaxIdleConnsPerHost: *clients, DisableCompression: true}
	if *unix != "" {
		transport.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dialer net.Dialer
			return dialer.DialContext(ctx, "unix", *unix)
		}
	}
	client := &http.Client{Transport: transport, Timeout: 30 * time.Second}
	var issued, failures atomic.Int64
	deadline := time.Now().Add(*duration)
	latencies := make([][]time.Duration, *clients)
	var wg sync.WaitGroup
	started := time.Now()
	for i := 0; i < *clients; i++ {
		wg.Add(1)
		go func(slot int) {
			defer wg.Done()
			for {
				if *total > 0 && issued.Add(1) > *total {
					return
				}
				if *total == 0 && time.Now().After(deadline) {
					return
				}
				begin := time.Now()
				ok := get(client, *target, *header)
				latencies[slot] = append(latencies[slot], time.Since(begin))
				if !ok {
					failures.Add(1)
				}
			}
		}(i)
	}
	wg.Wait()
	elapsed := time.Since(started)
	var all []time.Duration
	for _, l := range latencies {
		all = append(all, l...)
	}
	sort.Slice(all, func(a, b int) bool { return all[a] < all[b] })
	out := result{Requests: len(all), Failures: int(failures.Load())}
	if len(all) > 0 {
		out.Rps = float64(len(all)) / elapsed.Seconds()
		out.P50Ms = ms(all[(len(all)-1)*50/100])
		out.P99Ms = ms(all[(len(all)-1)*99/100])
	}
	json.NewEncoder(os.Stdout).Encode(out)
}

func get(client *http.Client, target, header string) bool {
	request, err := http.NewRequest(http.MethodGet, target, nil)
	if err != nil {
		return false
	}
	if name, value, found := cut(header); found {
		request.Header.Set(name, value)
	}
	response, err := client.Do(request)
	if err != nil {
		return false
	}
	io.Copy(io.Discard, response.Body)
	response.Body.Close()
	return response.StatusCode == http.StatusOK
}

func cut(header string) (string, string, bool) {
	for i := 0; i+1 < len(header); i++ {
		if header[i] == ':' {
			value := header[i+1:]
			for len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
			return header[:i], value, true
		}
	}
	return "", "", false
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
