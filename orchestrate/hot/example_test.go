package hot_test

import (
	"fmt"

	"github.com/tripleo-go/tripleo/orchestrate/hot"
)

func Example() {
	tmpl, err := hot.Parse("web.yaml", []byte(`heat_template_version: queens
parameters:
  name: {type: string, default: web}
resources:
  port: {type: OS::Heat::None}
  server:
    type: OS::Heat::TestResource
    properties:
      value: {str_replace: {template: NAME-PORT, params: {NAME: {get_param: name}, PORT: {get_resource: port}}}}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	st, err := hot.Instantiate(tmpl, hot.Options{StackName: "demo"})
	if err != nil {
		fmt.Println(err)
		return
	}
	order, _ := st.Graph().Order()
	fmt.Println(order)
	fmt.Println(st.Resource("server").Properties["value"])
	// Output:
	// [port server]
	// map[str_replace:map[params:map[NAME:web PORT:map[get_resource:port]] template:NAME-PORT]]
}
