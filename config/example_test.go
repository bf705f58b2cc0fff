package config_test

import (
	"fmt"

	"github.com/tripleo-go/tripleo/config"
)

// Render a template against metadata exactly as os-apply-config would.
func ExampleMustache() {
	md, err := config.DecodeJSON([]byte(`{
	  "hostname": "overcloud-controller-0",
	  "ntp": {"servers": ["0.pool.ntp.org", "1.pool.ntp.org"]},
	  "mysql": {"port": 3306, "tuning": {"max_connections": 4096}},
	  "debug": false
	}`))
	if err != nil {
		panic(err)
	}
	tmpl := `host={{hostname}}
{{#ntp.servers}}
server {{.}} iburst
{{/ntp.servers}}
port={{mysql.port}} tuning={{mysql.tuning}}
{{^debug}}
log_level=INFO
{{/debug}}
`
	out, err := config.Mustache{}.Render("ntp.conf", []byte(tmpl), md)
	if err != nil {
		panic(err)
	}
	fmt.Print(string(out))
	// Output:
	// host=overcloud-controller-0
	// server 0.pool.ntp.org iburst
	// server 1.pool.ntp.org iburst
	// port=3306 tuning={"max_connections": 4096}
	// log_level=INFO
}

// Look up one value as `os-apply-config --key mysql.port --type int` does.
func ExampleFormatKey() {
	md, _ := config.DecodeJSON([]byte(`{"mysql": {"port": 3306, "host": "db-0.internal"}}`))
	v, ok := config.LookupKey(md.(*config.Object), "mysql.port")
	if !ok {
		fmt.Println("missing")
		return
	}
	s, err := config.FormatKey(v, "int")
	fmt.Println(s, err)
	v, _ = config.LookupKey(md.(*config.Object), "mysql.host")
	_, err = config.FormatKey(v, "default")
	fmt.Println(err)
	// Output:
	// 3306 <nil>
	// cannot interpret value 'db-0.internal' as type default
}
