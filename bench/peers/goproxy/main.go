// The reference hop of the peer benchmark: the Go standard library's reverse proxy in front of
// one worker, as a watchdog in http mode is. `-unix` reaches a worker on a Unix socket.
package main

import (
	"context"
	"flag"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to serve on")
	upstream := flag.String("upstream", "http://127.0.0.1:8080", "the worker's base URL")
	unix := flag.String("unix", "", "the worker's Unix socket (then upstream only names it)")
	flag.Parse()
	target, err := url.Parse(*upstream)
	if err != nil {
		log.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 256
	if *unix != "" {
		transport.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dialer net.Dialer
			return dialer.DialContext(ctx, "unix", *unix)
		}
	}
	proxy.Transport = transport
	listener, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("listening %s", listener.Addr())
	log.Fatal(http.Serve(listener, proxy))
}
