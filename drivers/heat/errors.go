package heat

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gophercloud/gophercloud/v2"

	"github.com/tripleo-go/tripleo/orchestrate"
)

// Error is a call to Heat's API that Heat refused: the HTTP status, Heat's
// error type (StackExists, EntityNotFound, StackValidationFailed…) and
// message. It matches (errors.Is) the orchestrate sentinel that fits:
// ErrNotFound for 404, ErrExists for StackExists, ErrLocked for the other
// 409 conflicts (an action in progress), ErrInvalid for 400, and
// orchestrate.ErrSignal for a refused resource signal.
type Error struct {
	Op      string // what the driver was doing: "create stack", "signal dep"…
	Status  int    // HTTP status
	Type    string // Heat's error type
	Message string // Heat's message, with secrets removed
	kind    []error
}

// Error renders "heat: OP: HTTP STATUS TYPE: MESSAGE".
func (e *Error) Error() string {
	t := ""
	if e.Type != "" {
		t = " " + e.Type
	}
	return fmt.Sprintf("heat: %s: HTTP %d%s: %s", e.Op, e.Status, t, e.Message)
}

// Unwrap returns the orchestrate sentinels this error matches.
func (e *Error) Unwrap() []error { return e.kind }

// heatBody is the body of a Heat error answer.
type heatBody struct {
	Title string `json:"title"`
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

// responseCode returns the status and body of a gophercloud error for an
// unexpected HTTP status.
func responseCode(err error) (int, []byte, bool) {
	var v gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &v) {
		return v.Actual, v.Body, true
	}
	var p *gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &p) {
		return p.Actual, p.Body, true
	}
	return 0, nil, false
}

// mapError turns a failed call into an *Error (an HTTP answer) or a
// wrapped transport error, scrubbing every secret out of the text.
func mapError(op string, err error, secrets []string) error {
	status, body, ok := responseCode(err)
	if !ok {
		return fmt.Errorf("heat: %s: %s", op, scrubAll(err.Error(), secrets))
	}
	var b heatBody
	msg := ""
	if json.Unmarshal(body, &b) == nil && b.Error.Message != "" {
		msg = b.Error.Message
	} else {
		msg = strings.TrimSpace(string(body))
		if len(msg) > 512 {
			msg = msg[:512] + "…"
		}
	}
	e := &Error{Op: op, Status: status, Type: b.Error.Type, Message: scrubAll(msg, secrets)}
	switch {
	case status == http.StatusNotFound:
		e.kind = append(e.kind, orchestrate.ErrNotFound)
	case status == http.StatusConflict && e.Type == "StackExists":
		e.kind = append(e.kind, orchestrate.ErrExists)
	case status == http.StatusConflict:
		e.kind = append(e.kind, orchestrate.ErrLocked)
	case status == http.StatusBadRequest:
		e.kind = append(e.kind, orchestrate.ErrInvalid)
	}
	return e
}

// scrubAll removes every secret from s.
func scrubAll(s string, secrets []string) string {
	for _, sec := range secrets {
		s = scrub(s, sec)
	}
	return s
}
