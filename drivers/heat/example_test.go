package heat_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/tripleo-go/tripleo/config"
	"github.com/tripleo-go/tripleo/drivers/heat"
	"github.com/tripleo-go/tripleo/orchestrate"
)

// The settings Heat writes into a server's metadata tell the node where
// to poll; they print without the password.
func ExampleSettingsFrom() {
	md, _ := config.DecodeJSON([]byte(`{"os-collect-config": {"collectors": ["heat", "local"], "heat": {
		"auth_url": "http://192.0.2.1:5000/v3", "user_id": "u1", "password": "s3cret",
		"project_id": "p1", "stack_id": "overcloud/7a4b", "resource_name": "server"}}}`))
	s, ok := heat.SettingsFrom(md.(*config.Object))
	fmt.Println(ok)
	fmt.Printf("%v\n", s)
	// Output:
	// true
	// heat.Settings{auth_url=http://192.0.2.1:5000/v3 user_id=u1 password=[REDACTED] stack_id=overcloud/7a4b resource_name=server}
}

// An Engine is bound to a stack by name; one Heat does not know yet is
// created by Create. Heat's refusals match orchestrate's sentinels.
func ExampleOpen() {
	// A stand-in for Heat's API that knows no stack.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"error": {"type": "EntityNotFound", "message": "The Stack (overcloud) could not be found."}}`)
	}))
	defer srv.Close()
	c, _ := heat.NoAuthClient(srv.URL + "/v1/admin")
	e, err := heat.Open(context.Background(), c, "overcloud", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	var eng orchestrate.Engine = e
	_, err = eng.Show(context.Background())
	fmt.Println(errors.Is(err, orchestrate.ErrNotFound), err)
	// Output:
	// true heat: stack "overcloud": not found
}
