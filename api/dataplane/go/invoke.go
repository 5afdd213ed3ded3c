package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Dropped on the way in (recomputed or set here) and on the way out, as api/invoke_request.py.
var hopByHop = []string{"Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
	"Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}
var dropRequest = set(append([]string{"Content-Length", "X-Request-Id", "X-Forwarded-For", "Expect"}, hopByHop...))
var dropResponse = set(append([]string{"Content-Length", "Date", "Server", "X-Request-Id"}, hopByHop...))

type answer struct {
	status int
	header http.Header
	body   []byte
	err    error
	large  bool
}

func (p *plane) invoke(w http.ResponseWriter, r *http.Request, key string, rt *route, suffix string, body []byte) {
	started := time.Now()
	id := validRequestID(r.Header.Get("X-Request-Id"))
	if id == "" {
		id = p.ids()
	}
	errCode, status := p.forward(w, r, key, rt, suffix, body, id)
	if status == 0 {
		return // handed to the control plane: it counts the request itself
	}
	p.out.record(key, rt.ID, float64(time.Since(started).Microseconds())/1000, errCode)
}

// forward runs one request in the worker; returns the error code and status sent (0: none).
func (p *plane) forward(w http.ResponseWriter, r *http.Request, key string, rt *route, suffix string, body []byte, id string) (string, int) {
	wk := rt.worker
	if ok, queued := wk.admit(p.c.queueDepth, p.c.queueWait); !ok {
		why := "and its queue is full"
		if queued {
			why = fmt.Sprintf("after %d ms queued", p.c.queueWait.Milliseconds())
		}
		w.Header().Set("Retry-After", "1")
		sendError(w, 429, "too_many_requests", fmt.Sprintf(
			"the function is at its concurrency limit (%d) %s", rt.Concurrency, why),
			map[string]any{"retry_after_s": 1}, "")
		return "too_many_requests", 429
	}
	timeout := time.Duration(rt.TimeoutMS) * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), timeout+p.c.overrunGrace)
	req := p.upstreamRequest(ctx, r, rt, suffix, body, id)
	done := make(chan answer, 1)
	go func() {
		defer cancel()
		a := p.roundTrip(wk, req)
		wk.leave()
		if errors.Is(a.err, context.DeadlineExceeded) {
			p.out.event("overran", key, rt.ID)
		}
		done <- a
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var a answer
	select {
	case a = <-done:
	case <-timer.C:
		p.out.event("timed_out", key, rt.ID)
		if rt.FunctionURLErrors {
			return "function_timed_out", sendFunctionURLError(w, id)
		}
		sendError(w, 504, "function_timed_out", fmt.Sprintf(
			"the function did not answer within %d ms", rt.TimeoutMS),
			map[string]any{"timeout_ms": rt.TimeoutMS, "request_id": id}, id)
		return "function_timed_out", 504
	}
	if a.err != nil && dialFailed(a.err) {
		log.Printf("%s: its worker refused a connection, sending its calls to the control plane for %s: %v", key, suspendFor, a.err)
		p.suspend(rt)
		p.toControlPlane(w, r, body)
		return "", 0
	}
	if a.large {
		sendError(w, 502, "response_too_large", fmt.Sprintf(
			"the response is over %d bytes; the limit is %d", p.c.maxPayload, p.c.maxPayload), nil, "")
		return "response_too_large", 502
	}
	if a.err != nil {
		p.out.event("crashed", key, rt.ID)
		if rt.FunctionURLErrors {
			return "function_crashed", sendFunctionURLError(w, id)
		}
		sendError(w, 502, "function_crashed", fmt.Sprintf(
			"the function's worker failed during the request (%v)", a.err),
			map[string]any{"request_id": id}, id)
		return "function_crashed", 502
	}
	out := w.Header()
	for name, values := range a.header {
		if _, drop := dropResponse[name]; drop && !(r.Method == "HEAD" && name == "Content-Length") {
			continue
		}
		out[name] = values
	}
	if _, ok := out["Content-Type"]; !ok {
		out["Content-Type"] = nil // no sniffing: the worker's headers as they were
	}
	out["X-Request-Id"] = []string{id}
	if r.Method != "HEAD" {
		out["Content-Length"] = []string{strconv.Itoa(len(a.body))}
	}
	w.WriteHeader(a.status)
	w.Write(a.body)
	return "", a.status
}

func (p *plane) upstreamRequest(ctx context.Context, r *http.Request, rt *route, suffix string, body []byte, id string) *http.Request {
	path, query, _ := strings.Cut(suffix, "?")
	target := rt.Prefix + path
	if target == "" {
		target = "/"
	}
	host := rt.Host
	if rt.Socket == "" {
		host = net.JoinHostPort(rt.Host, strconv.Itoa(rt.Port))
	}
	var reader io.Reader
	if len(body) > 0 {
		reader = bytes.NewReader(body)
	}
	req, _ := http.NewRequestWithContext(ctx, r.Method, "http://"+host+"/", reader)
	req.URL = &url.URL{Scheme: "http", Host: host, Opaque: target, RawQuery: query}
	req.Host = r.Host
	header := make(http.Header, len(r.Header)+3)
	listed := map[string]bool{}
	for _, v := range r.Header["Connection"] {
		for _, name := range strings.Split(v, ",") {
			listed[textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(name))] = true
		}
	}
	for name, values := range r.Header {
		if _, drop := dropRequest[name]; drop || listed[name] {
			continue
		}
		if name == "Authorization" && rt.Auth != "none" {
			continue // the caller's token is the platform's, not the function's
		}
		header[name] = values
	}
	if _, ok := header["User-Agent"]; !ok {
		header["User-Agent"] = []string{""} // Go's own would be added otherwise
	}
	header["X-Forwarded-For"] = []string{peer(r)}
	header["X-Request-Id"] = []string{id}
	req.Header = header
	return req
}

func (p *plane) roundTrip(wk *worker, req *http.Request) answer {
	resp, err := wk.transport.RoundTrip(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	var data []byte
	if req.Method != "HEAD" {
		data, err = io.ReadAll(io.LimitReader(resp.Body, p.c.maxPayload+1))
		if err != nil {
			return answer{err: err}
		}
		if int64(len(data)) > p.c.maxPayload {
			return answer{large: true}
		}
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: data}
}

func dialFailed(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// readBody is the whole body within the limit: 413 from Content-Length before reading, else
// as soon as the count passes it. false: answered (or the caller left).
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	if r.ContentLength > limit {
		sendError(w, 413, "payload_too_large", tooLarge(r.ContentLength, limit, "request body"), nil, "")
		return nil, false
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, false
	}
	if int64(len(data)) > limit {
		sendError(w, 413, "payload_too_large", tooLarge(int64(len(data)), limit, "request body (so far)"), nil, "")
		return nil, false
	}
	return data, true
}

func tooLarge(size, limit int64, what string) string {
	return fmt.Sprintf("the %s is %d bytes; the limit is %d bytes", what, size, limit)
}

type errorBody struct {
	Error struct {
		Code    string         `json:"code"`
		Message string         `json:"message"`
		Detail  map[string]any `json:"detail"`
	} `json:"error"`
}

// sendError is the control plane's error shape (api/errors.py).
func sendError(w http.ResponseWriter, status int, code, message string, detail map[string]any, id string) {
	var b errorBody
	b.Error.Code, b.Error.Message, b.Error.Detail = code, message, detail
	if detail == nil {
		b.Error.Detail = map[string]any{}
	}
	data, _ := json.Marshal(b)
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	h["Content-Length"] = []string{strconv.Itoa(len(data))}
	if id != "" {
		h["X-Request-Id"] = []string{id}
	}
	w.WriteHeader(status)
	w.Write(data)
}

var functionURLError = []byte(`{"message":"Internal Server Error"}`)

// sendFunctionURLError answers as a Lambda Function URL does when the function failed.
func sendFunctionURLError(w http.ResponseWriter, id string) int {
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	h["X-Amz-Function-Error"] = []string{"Unhandled"}
	h["X-Request-Id"] = []string{id}
	h["Content-Length"] = []string{strconv.Itoa(len(functionURLError))}
	w.WriteHeader(502)
	w.Write(functionURLError)
	return 502
}

// requestIDs are shaped like Lambda's (a UUID): a random prefix drawn once, and a counter.
func requestIDs() func() string {
	raw := make([]byte, 16)
	rand.Read(raw)
	raw[6] = raw[6]&0x0f | 0x40
	raw[8] = raw[8]&0x3f | 0x80
	h := hex.EncodeToString(raw)
	prefix := h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-"
	var counter atomic.Uint64
	return func() string {
		return fmt.Sprintf("%s%012x", prefix, counter.Add(1)&0xFFFFFFFFFFFF)
	}
}

// validRequestID keeps a caller's id when it is short printable ASCII.
func validRequestID(v string) string {
	if len(v) == 0 || len(v) > 200 {
		return ""
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x21 || v[i] > 0x7e {
			return ""
		}
	}
	return v
}

func secretHash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

func set(names []string) map[string]struct{} {
	out := make(map[string]struct{}, len(names))
	for _, n := range names {
		out[n] = struct{}{}
	}
	return out
}
