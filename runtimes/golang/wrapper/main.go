// lambdaclone's Go runtime wrapper: serve one user handler over HTTP/1.1 with net/http.
//
// This file is compiled together with the user's handler.go (package main) and a generated
// lambdaclone_entry.go that sets lcUserHandler in an init function. Compiled on its own (no
// entry file), lcUserHandler stays nil and the binary becomes the "load error server": it
// answers health and every invocation with 500 HandlerLoadError, the message taken from
// LAMBDA_LOAD_ERROR (or the file named by LAMBDA_LOAD_ERROR_FILE), e.g. the compiler output.
// Identifiers are prefixed with lc so they cannot collide with the user's names.
package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"
)

const lcHealthPath = "/__lambdaclone/health"

// lcUserHandler is the user's `func handler(params url.Values, w *http.ResponseWriter)`.
var lcUserHandler func(url.Values, *http.ResponseWriter)

type lcConfig struct {
	prefix    string
	version   string
	memoryMB  string
	loadError string
}

// lcBuffer collects what the handler writes so the wrapper can pick the status and the
// content type after the handler returns (the original default code calls WriteHeader after
// Write, which net/http would reject as superfluous).
type lcBuffer struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *lcBuffer) Header() http.Header { return b.header }

func (b *lcBuffer) WriteHeader(status int) {
	if b.status == 0 {
		b.status = status
	}
}

func (b *lcBuffer) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

type lcError struct {
	ErrorType    string   `json:"errorType"`
	ErrorMessage string   `json:"errorMessage"`
	StackTrace   []string `json:"stackTrace,omitempty"`
}

func lcWriteJSON(w http.ResponseWriter, status int, value any) {
	body, _ := json.Marshal(value)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	if e, ok := value.(lcError); ok {
		w.Header().Set("X-Lambdaclone-Error-Type", e.ErrorType)
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// lcInvoke runs the handler, turning a panic into Lambda's error shape.
func lcInvoke(params url.Values) (buf *lcBuffer, failure *lcError) {
	buf = &lcBuffer{header: http.Header{}}
	defer func() {
		if r := recover(); r != nil {
			failure = lcPanicError(r)
		}
	}()
	var w http.ResponseWriter = buf
	lcUserHandler(params, &w)
	return buf, nil
}

func lcPanicError(r any) *lcError {
	errType := "Panic"
	if err, ok := r.(error); ok {
		t := reflect.TypeOf(err)
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		errType = t.Name()
	}
	var stack []string
	for _, line := range strings.Split(string(debug.Stack()), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			stack = append(stack, line)
		}
	}
	return &lcError{ErrorType: errType, ErrorMessage: fmt.Sprint(r), StackTrace: stack}
}

func lcFlush(w http.ResponseWriter, buf *lcBuffer) {
	for name, values := range buf.header {
		w.Header()[name] = values
	}
	body := buf.body.Bytes()
	if w.Header().Get("Content-Type") == "" && len(body) > 0 {
		if json.Valid(body) {
			w.Header().Set("Content-Type", "application/json")
		} else {
			w.Header().Set("Content-Type", http.DetectContentType(body))
		}
	}
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	status := buf.status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func lcRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func lcMaxRSSMB() int64 {
	var usage syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &usage) != nil {
		return 0
	}
	kb := int64(usage.Maxrss)
	if runtime.GOOS == "darwin" { // bytes there, kilobytes on Linux
		kb /= 1024
	}
	return int64(math.Round(float64(kb) / 1024))
}

func (c *lcConfig) serveHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if c.prefix != "" && (path == c.prefix || strings.HasPrefix(path, c.prefix+"/")) {
		path = strings.TrimPrefix(path, c.prefix)
	}
	loadErr := lcError{ErrorType: "HandlerLoadError", ErrorMessage: c.loadError}
	if path == lcHealthPath {
		if lcUserHandler == nil {
			lcWriteJSON(w, http.StatusInternalServerError, loadErr)
		} else {
			lcWriteJSON(w, http.StatusOK, map[string]string{"status": "ok", "convention": "original"})
		}
		return
	}
	requestID := r.Header.Get("X-Request-Id")
	if requestID == "" {
		requestID = lcRequestID()
	}
	w.Header().Set("X-Request-Id", requestID)
	fmt.Printf("START RequestId: %s Version: %s\n", requestID, c.version)
	started := time.Now()
	if lcUserHandler == nil {
		lcWriteJSON(w, http.StatusInternalServerError, loadErr)
	} else {
		_ = r.ParseForm() // query parameters plus a form-encoded body, as url.Values
		if buf, failure := lcInvoke(r.Form); failure != nil {
			fmt.Fprintf(os.Stderr, "[ERROR] RequestId: %s %s: %s\n%s\n", requestID,
				failure.ErrorType, failure.ErrorMessage, strings.Join(failure.StackTrace, "\n"))
			lcWriteJSON(w, http.StatusInternalServerError, *failure)
		} else {
			lcFlush(w, buf)
		}
	}
	ms := float64(time.Since(started).Microseconds()) / 1000
	fmt.Printf("END RequestId: %s\nREPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\t"+
		"Memory Size: %s MB\tMax Memory Used: %d MB\n", requestID, requestID, ms,
		int64(math.Max(1, math.Ceil(ms))), c.memoryMB, lcMaxRSSMB())
}

func lcEnv(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

func main() {
	port := os.Getenv("PORT")
	socketPath := os.Getenv("LAMBDA_SOCKET") // serve on this Unix socket instead of HOST:PORT
	if port == "" && socketPath == "" {
		fmt.Fprintln(os.Stderr, "lambdaclone wrapper: PORT must be set to a TCP port number")
		os.Exit(2)
	}
	cfg := &lcConfig{
		prefix:   strings.TrimRight(os.Getenv("LAMBDA_PATH_PREFIX"), "/"),
		version:  lcEnv("LAMBDA_FUNCTION_VERSION", "$LATEST"),
		memoryMB: lcEnv("LAMBDA_MEMORY_MB", "128"),
	}
	if lcUserHandler == nil {
		cfg.loadError = lcEnv("LAMBDA_LOAD_ERROR", "the handler could not be built")
		if file := os.Getenv("LAMBDA_LOAD_ERROR_FILE"); file != "" {
			if text, err := os.ReadFile(file); err == nil {
				cfg.loadError = strings.TrimSpace(string(text))
			}
		}
		fmt.Fprintf(os.Stderr, "[ERROR] HandlerLoadError: %s\n", cfg.loadError)
	}
	addr := net.JoinHostPort(lcEnv("HOST", "127.0.0.1"), port)
	server := &http.Server{Addr: addr, Handler: http.HandlerFunc(cfg.serveHTTP),
		IdleTimeout: 65 * time.Second, ReadHeaderTimeout: 60 * time.Second}
	if err := lcServe(server, socketPath); err != nil {
		fmt.Fprintln(os.Stderr, "lambdaclone wrapper:", err)
		os.Exit(1)
	}
}

func lcServe(server *http.Server, socketPath string) error {
	if socketPath == "" {
		return server.ListenAndServe()
	}
	_ = os.Remove(socketPath) // a previous worker's socket
	listener, err := net.Listen("unix", socketPath)
	if err != nil {
		return err
	}
	return server.Serve(listener)
}
