package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// route is one function's warm worker as the control plane pushed it.
type route struct {
	ID                string   `json:"id"` // the worker (Upstream) it names; stats refer to it
	Socket            string   `json:"socket"`
	Host              string   `json:"host"`
	Port              int      `json:"port"`
	Prefix            string   `json:"prefix"`
	TimeoutMS         int      `json:"timeout_ms"`
	Concurrency       int      `json:"concurrency"`
	Auth              string   `json:"auth"`
	Tokens            []string `json:"tokens"` // sha256 hex of the secrets allowed to invoke
	FunctionURLErrors bool     `json:"function_url_errors"`
	allowed           map[string]struct{}
	worker            *worker
	suspended         atomic.Int64 // unix ns until which its worker is treated as gone
}

// worker is the state that outlives pushes of the same upstream: its places and connections.
type worker struct {
	places    chan struct{} // one token per request running in the worker
	mu        sync.Mutex
	waiting   int
	used      bool
	transport *http.Transport
}

func newWorker(r *route) *worker {
	t := &http.Transport{
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 1024,
		IdleConnTimeout:     30 * time.Second, // below the wrappers' idle timeouts
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	if r.Socket != "" {
		socket := r.Socket
		t.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dialUnix(ctx, dialer, socket)
		}
	} else {
		t.DialContext = dialer.DialContext
	}
	size := r.Concurrency
	if size < 1 {
		size = 1
	}
	return &worker{places: make(chan struct{}, size), transport: t}
}

// dialUnix waits out a full accept backlog (EAGAIN: a Unix socket's connect does not queue
// like TCP's), for at most backlogWait; any other failure is returned at once.
func dialUnix(ctx context.Context, dialer *net.Dialer, socket string) (net.Conn, error) {
	deadline := time.Now().Add(backlogWait)
	pause := 200 * time.Microsecond
	for {
		conn, err := dialer.DialContext(ctx, "unix", socket)
		if err == nil || !errors.Is(err, syscall.EAGAIN) || time.Now().After(deadline) {
			return conn, err
		}
		time.Sleep(pause)
		pause = min(2*pause, 10*time.Millisecond)
	}
}

const backlogWait = 2 * time.Second

// admit takes a place, waiting in a bounded queue; false means 429 (queued: after waiting).
func (w *worker) admit(depth int, wait time.Duration) (ok bool, queued bool) {
	select {
	case w.places <- struct{}{}:
		w.touch()
		return true, false
	default:
	}
	w.mu.Lock()
	if w.waiting >= depth {
		w.mu.Unlock()
		return false, false
	}
	w.waiting++
	w.mu.Unlock()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	defer func() { w.mu.Lock(); w.waiting--; w.mu.Unlock() }()
	select {
	case w.places <- struct{}{}:
		w.touch()
		return true, true
	case <-timer.C:
		return false, true
	}
}

func (w *worker) leave() {
	<-w.places
	w.touch()
}

func (w *worker) touch() {
	w.mu.Lock()
	w.used = true
	w.mu.Unlock()
}

// activity is the in-flight count and whether the worker was used since the last call.
func (w *worker) activity() (int, bool) {
	w.mu.Lock()
	used := w.used
	w.used = false
	w.mu.Unlock()
	return len(w.places), used
}
