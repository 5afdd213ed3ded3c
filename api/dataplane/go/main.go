// The invoke data plane: serves the public port, proxies `/endpoint/{key}/...` of warm
// functions straight to their workers, and hands everything else to the Python control plane
// behind it (its private Unix socket). The control plane is the parent process: it pushes the
// route table as JSON lines on stdin and reads batched stats lines on stdout; stdin closing
// (the parent exited or died) ends this process, so it never outlives the control plane.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"log"
	"net"
	"net/http"
	"os"
	"time"
)

type config struct {
	listen        string
	fallback      string
	maxPayload    int64
	queueDepth    int
	queueWait     time.Duration
	overrunGrace  time.Duration
	maxHeader     int
	headerTimeout time.Duration
	keepAlive     time.Duration
}

func main() {
	var c config
	flag.StringVar(&c.listen, "listen", "127.0.0.1:8000", "public address")
	flag.StringVar(&c.fallback, "fallback", "", "the control plane's Unix socket")
	flag.Int64Var(&c.maxPayload, "max-payload", 6*1024*1024, "request and response body limit")
	flag.IntVar(&c.queueDepth, "queue-depth", 256, "waiters per worker before 429")
	flag.DurationVar(&c.queueWait, "queue-wait", 5*time.Second, "longest wait in the queue")
	flag.DurationVar(&c.overrunGrace, "overrun-grace", time.Second, "past the timeout")
	flag.IntVar(&c.maxHeader, "max-header-bytes", 64*1024, "request head limit")
	flag.DurationVar(&c.headerTimeout, "header-timeout", 10*time.Second, "request head deadline")
	flag.DurationVar(&c.keepAlive, "keep-alive", 5*time.Second, "idle keep-alive")
	flag.Parse()
	log.SetPrefix("dataplane: ")
	listener, err := net.Listen("tcp", c.listen)
	if err != nil {
		log.Fatal(err)
	}
	out := newReporter(os.Stdout)
	plane := newPlane(c, out)
	go control(plane)
	go out.run(100 * time.Millisecond)
	server := &http.Server{
		Handler:           plane,
		MaxHeaderBytes:    c.maxHeader,
		ReadHeaderTimeout: c.headerTimeout,
		IdleTimeout:       c.keepAlive,
		ErrorLog:          log.New(os.Stderr, "dataplane: ", 0),
	}
	out.line(map[string]any{"ready": listener.Addr().String()})
	log.Fatal(server.Serve(listener))
}

// control reads pushes until stdin closes, then exits the process.
func control(p *plane) {
	scanner := bufio.NewScanner(os.Stdin)
	scanner.Buffer(make([]byte, 1<<20), 64<<20)
	for scanner.Scan() {
		var push struct {
			Routes map[string]*route `json:"routes"`
		}
		if err := json.Unmarshal(scanner.Bytes(), &push); err != nil {
			log.Printf("bad push: %v", err)
			continue
		}
		p.install(push.Routes)
	}
	os.Exit(0)
}
