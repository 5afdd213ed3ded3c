// lambdaclone's default Go function (original convention).
//
// The wrapper calls handler with the request's query parameters (plus a form-encoded body)
// and a pointer to the response writer. Write a JSON body; the wrapper answers 200 unless
// WriteHeader was called first, and sets Content-Type: application/json for a JSON body.
package main

import (
	"encoding/json"
	"net/http"
	"net/url"
)

func handler(params url.Values, w *http.ResponseWriter) {
	body, err := json.Marshal(map[string]any{
		"message": "Hello from lambdaclone (go)!",
		"params":  params,
	})
	if err != nil {
		(*w).WriteHeader(http.StatusInternalServerError)
		return
	}
	(*w).Header().Set("Content-Type", "application/json")
	(*w).WriteHeader(http.StatusOK)
	_, _ = (*w).Write(body)
}
