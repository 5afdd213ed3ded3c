package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"
)

const endpointPrefix = "/endpoint/"
const reservedSuffix = "/__lambdaclone/health" // the wrappers' readiness probe
const suspendFor = time.Second

// plane is the route table and the two ways a request goes: to a warm worker, or to Python.
type plane struct {
	c        config
	out      *reporter
	mu       sync.RWMutex
	routes   map[string]*route
	workers  map[string]*worker // every worker still routed or still running requests
	fallback *httputil.ReverseProxy
	ids      func() string
}

func newPlane(c config, out *reporter) *plane {
	p := &plane{c: c, out: out, routes: map[string]*route{}, workers: map[string]*worker{}}
	p.ids = requestIDs()
	p.fallback = controlPlane(c.fallback)
	out.activity = p.activity
	return p
}

// install replaces the route table; a worker keeps its places across pushes naming it.
func (p *plane) install(routes map[string]*route) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for key, r := range routes {
		if r == nil {
			delete(routes, key)
			continue
		}
		r.allowed = make(map[string]struct{}, len(r.Tokens))
		for _, digest := range r.Tokens {
			r.allowed[digest] = struct{}{}
		}
		if w, ok := p.workers[r.ID]; ok {
			r.worker = w
		} else {
			r.worker = newWorker(r)
			p.workers[r.ID] = r.worker
		}
	}
	p.routes = routes
}

func (p *plane) lookup(key string) *route {
	p.mu.RLock()
	r := p.routes[key]
	p.mu.RUnlock()
	if r != nil && r.suspended.Load() > time.Now().UnixNano() {
		return nil
	}
	return r
}

// suspend sends the route's calls to the control plane for a while: its worker refused a
// connection (gone, or its backlog full); the control plane starts another or pushes again.
func (p *plane) suspend(r *route) {
	r.suspended.Store(time.Now().Add(suspendFor).UnixNano())
}

// activity reports every worker's in-flight count and use; unrouted idle workers are dropped.
func (p *plane) activity() map[string][2]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	routed := make(map[string]bool, len(p.routes))
	for _, r := range p.routes {
		routed[r.ID] = true
	}
	seen := map[string][2]int{}
	for id, w := range p.workers {
		inflight, used := w.activity()
		if inflight > 0 || used {
			u := 0
			if used {
				u = 1
			}
			seen[id] = [2]int{inflight, u}
		}
		if !routed[id] && inflight == 0 {
			w.transport.CloseIdleConnections()
			delete(p.workers, id)
		}
	}
	return seen
}

func (p *plane) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key, suffix, ok := endpointParts(r.RequestURI)
	if !ok {
		p.toControlPlane(w, r, nil)
		return
	}
	rt := p.lookup(key)
	if rt == nil || reserved(suffix) {
		p.toControlPlane(w, r, nil)
		return
	}
	body, ok := readBody(w, r, p.c.maxPayload)
	if !ok {
		return
	}
	if rt.Auth != "none" && !rt.admits(r) {
		p.toControlPlane(w, r, body) // refusals keep the control plane's exact shapes
		return
	}
	p.invoke(w, r, key, rt, suffix, body)
}

// endpointParts splits `/endpoint/{key}{suffix}?query` as the caller sent it (still encoded).
func endpointParts(uri string) (string, string, bool) {
	if !strings.HasPrefix(uri, endpointPrefix) {
		return "", "", false
	}
	rest := uri[len(endpointPrefix):]
	path := rest
	if at := strings.IndexByte(rest, '?'); at >= 0 {
		path = rest[:at]
	}
	key, _, _ := strings.Cut(path, "/")
	if key == "" || strings.ContainsAny(key, "%;") {
		return "", "", false
	}
	return key, rest[len(key):], true
}

func reserved(suffix string) bool {
	path, _, _ := strings.Cut(suffix, "?")
	decoded, err := url.PathUnescape(path)
	return err != nil || decoded == reservedSuffix || strings.HasPrefix(decoded, reservedSuffix+"/")
}

func (r *route) admits(req *http.Request) bool {
	scheme, secret, found := strings.Cut(req.Header.Get("Authorization"), " ")
	if !found || !strings.EqualFold(scheme, "bearer") {
		return false
	}
	_, ok := r.allowed[secretHash(strings.TrimSpace(secret))]
	return ok
}

// toControlPlane hands the request to Python as it came (`body` if already read).
func (p *plane) toControlPlane(w http.ResponseWriter, r *http.Request, body []byte) {
	if body != nil {
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		r.Header.Del("Transfer-Encoding")
		r.TransferEncoding = nil
	}
	p.fallback.ServeHTTP(w, r)
}

// controlPlane passes requests to the control plane's Unix socket (or a host:port: benches).
func controlPlane(address string) *httputil.ReverseProxy {
	network := "unix"
	if !strings.HasPrefix(address, "/") {
		network = "tcp"
	}
	transport := &http.Transport{
		MaxIdleConnsPerHost: 256,
		DisableCompression:  true,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dialer net.Dialer
			return dialer.DialContext(ctx, network, address)
		},
	}
	base := &url.URL{Scheme: "http", Host: "control-plane"}
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(base)
			pr.Out.Host = pr.In.Host
			pr.Out.Header["X-Forwarded-For"] = []string{peer(pr.In)} // the peer only: not spoofable
		},
		Transport:     transport,
		FlushInterval: -1, // event streams reach the caller as they are written
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if !errors.Is(err, context.Canceled) {
				log.Printf("control plane unreachable: %v", err)
			}
			sendError(w, 503, "control_plane_unavailable",
				"the control plane is not answering; retry shortly", map[string]any{"retry_after_s": 1}, "")
		},
	}
}

func peer(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
