//go:build tools

// Package tools pins the pulumi CLI's main package in this module's build list.
package tools

import (
	_ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
)
