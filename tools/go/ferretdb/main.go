// Command ferretdb serves the MongoDB wire protocol over SQLite through FerretDB's embeddable
// package. Its own cmd/ferretdb insists on a generated version.txt that the module zip lacks.
package main

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// stopTimeout bounds a graceful stop: past it the process exits anyway, so a wedged shutdown
// never outlives the parent that asked for it.
const stopTimeout = 10 * time.Second

func main() {
	listen := flag.String("listen-addr", "127.0.0.1:27017", "TCP address to listen on (empty: none)")
	listenUnix := flag.String("listen-unix", "", "Unix domain socket path to listen on (empty: none)")
	lifeline := flag.Bool("lifeline-stdin", false, "stop when standard input ends: the parent closed it or died")
	sqliteURL := flag.String("sqlite-url", "file:data/", "SQLite URI (a directory, ending in /)")
	debug := flag.Bool("debug", false, "log at debug level")
	flag.Parse()

	level := slog.LevelWarn
	if *debug {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	db, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *listen, Unix: *listenUnix},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: *sqliteURL,
	})
	if err != nil {
		logger.Error("start", "error", err)
		os.Exit(1)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *lifeline {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			logger.Warn("standard input ended: stopping")
			stop()
		}()
	}
	go func() {
		<-ctx.Done()
		time.Sleep(stopTimeout)
		logger.Error("stop timed out")
		os.Exit(1)
	}()
	if err := db.Run(ctx); err != nil && ctx.Err() == nil {
		logger.Error("run", "error", err)
		os.Exit(1)
	}
}
