package heat_test

import (
	"fmt"

	"github.com/tripleo-go/tripleo/config"
	"github.com/tripleo-go/tripleo/drivers/heat"
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
