package main

import (
	"encoding/json"
	"io"
	"sync"
	"time"
)

// tally is one function's invocations since the last batch (api/proxy.py's InvokeStats).
type tally struct {
	Key     string         `json:"key"`
	ID      string         `json:"id"`
	Count   int            `json:"n"`
	TotalMS float64        `json:"total_ms"`
	MaxMS   float64        `json:"max_ms"`
	LastMS  float64        `json:"last_ms"`
	Errors  map[string]int `json:"errors,omitempty"`
}

// reporter batches stats and events into one JSON line per tick, off the requests' path.
type reporter struct {
	mu       sync.Mutex
	w        io.Writer
	tallies  map[string]*tally
	events   [][3]string
	activity func() map[string][2]int
}

func newReporter(w io.Writer) *reporter {
	return &reporter{w: w, tallies: map[string]*tally{}}
}

func (r *reporter) record(key, id string, ms float64, errCode string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.tallies[id]
	if t == nil {
		t = &tally{Key: key, ID: id}
		r.tallies[id] = t
	}
	t.Count++
	t.TotalMS += ms
	t.LastMS = ms
	if ms > t.MaxMS {
		t.MaxMS = ms
	}
	if errCode != "" {
		if t.Errors == nil {
			t.Errors = map[string]int{}
		}
		t.Errors[errCode]++
	}
}

// event is a failure the target acts on: timed_out, crashed (probe it), overran (restart it).
func (r *reporter) event(kind, key, id string) {
	r.mu.Lock()
	r.events = append(r.events, [3]string{kind, key, id})
	r.mu.Unlock()
}

func (r *reporter) line(v any) {
	data, _ := json.Marshal(v)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.w.Write(append(data, '\n'))
}

func (r *reporter) run(every time.Duration) {
	for range time.Tick(every) {
		activity := r.activity()
		r.mu.Lock()
		tallies, events := r.tallies, r.events
		r.tallies, r.events = map[string]*tally{}, nil
		r.mu.Unlock()
		if len(tallies) == 0 && len(events) == 0 && len(activity) == 0 {
			continue
		}
		list := make([]*tally, 0, len(tallies))
		for _, t := range tallies {
			list = append(list, t)
		}
		r.line(map[string]any{"stats": list, "events": events, "activity": activity})
	}
}
