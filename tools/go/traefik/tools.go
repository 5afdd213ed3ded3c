//go:build tools

// Package tools pins Traefik's main package in this module's build list.
package tools

import (
	_ "github.com/traefik/traefik/v3/cmd/traefik"
)
