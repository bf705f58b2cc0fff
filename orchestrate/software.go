package orchestrate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
)

// Software configuration and deployed-server types.
const (
	TypeSoftwareConfig   = "OS::Heat::SoftwareConfig"
	TypeStructuredConfig = "OS::Heat::StructuredConfig"
	TypeMultipartMime    = "OS::Heat::MultipartMime"
	TypeDeployedServer   = "OS::Heat::DeployedServer"
	TypeResourceChain    = "OS::Heat::ResourceChain"
)

// configStore remembers software configs by id, so that a MultipartMime
// part can name one (as Heat reads them from its database). Configs are
// derived from their resource's properties, so the store is refilled by
// Create and Check after a restart.
type configStore struct {
	mu sync.Mutex
	m  map[string]map[string]any
}

func (c *configStore) put(id string, cfg map[string]any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]map[string]any{}
	}
	c.m[id] = cfg
}

func (c *configStore) get(id string) (map[string]any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[id]
	return v, ok
}

func registerSoftware(t *Types) {
	store := &configStore{}
	t.m[TypeSoftwareConfig] = softwareConfigType{store: store, structured: false}
	t.m[TypeStructuredConfig] = softwareConfigType{store: store, structured: true}
	t.m[TypeMultipartMime] = multipartType{store: store}
	t.m[TypeDeployedServer] = deployedServerType{}
	t.m[TypeResourceChain] = chainType{}
	t.m[TypeWaitConditionHandle] = waitHandleType{}
	t.m[TypeWaitCondition] = waitConditionType{}
	t.m[TypeSoftwareDeployment] = deploymentType{}
	t.m[TypeStructuredDeployment] = deploymentType{structured: true}
	registerDeploymentGroups(t)
}

var ioSchema = &Property{Type: TypeList, Default: []any{}}

// softwareConfigType is OS::Heat::SoftwareConfig (config is a string) and
// OS::Heat::StructuredConfig (config is a map). A config never changes: any
// change replaces it, as in Heat.
type softwareConfigType struct {
	store      *configStore
	structured bool
}

func (s softwareConfigType) Schema() *Schema {
	cfg := &Property{Type: TypeString, Default: ""}
	if s.structured {
		cfg = &Property{Type: TypeMap, Default: map[string]any{}}
	}
	return &Schema{
		Properties: map[string]*Property{
			"group":   {Type: TypeString, Default: "Heat::Ungrouped"},
			"config":  cfg,
			"options": {Type: TypeMap, Default: map[string]any{}},
			"inputs":  ioSchema,
			"outputs": ioSchema,
		},
		Attributes: map[string]string{"config": "the configuration"},
	}
}

func (s softwareConfigType) state(r *Request) (*State, error) {
	id := keyID(r.Key)
	cfg := map[string]any{"id": id, "name": r.Stack + "-" + r.Name}
	for _, k := range []string{"group", "config", "options", "inputs", "outputs"} {
		cfg[k] = r.Properties[k]
	}
	s.store.put(id, cfg)
	return &State{PhysicalID: id, Attributes: map[string]any{"config": r.Properties["config"]}}, nil
}

func (s softwareConfigType) Create(_ context.Context, r *Request) (*State, error) { return s.state(r) }
func (s softwareConfigType) Update(context.Context, *Request) (*State, error) {
	return nil, ErrReplace
}
func (s softwareConfigType) Delete(context.Context, *Request) error { return nil }
func (s softwareConfigType) Check(_ context.Context, r *Request) (*State, error) {
	return s.state(r)
}

// multipartType is OS::Heat::MultipartMime: parts (text, or the id of a
// software config) assembled into one multipart/mixed message.
type multipartType struct{ store *configStore }

func (multipartType) Schema() *Schema {
	return &Schema{
		Properties: map[string]*Property{
			"parts": {Type: TypeList, Default: []any{}},
			"group": {Type: TypeString, Default: "Heat::Ungrouped"},
		},
		Attributes: map[string]string{"config": "the MIME message"},
	}
}

func (m multipartType) state(r *Request) (*State, error) {
	h := sha256.Sum256([]byte(r.Key))
	boundary := "===============" + hex.EncodeToString(h[:8]) + "=="
	var b strings.Builder
	fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=\"%s\"\nMIME-Version: 1.0\n", boundary)
	for i, p := range r.Properties["parts"].([]any) {
		pm, ok := p.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%w: parts[%d] must be a map", ErrInvalid, i)
		}
		text, _ := pm["config"].(string)
		if cfg, ok := m.store.get(text); ok {
			switch c := cfg["config"].(type) {
			case string:
				text = c
			default:
				text = fmt.Sprint(c)
			}
		}
		subtype, _ := pm["subtype"].(string)
		if subtype == "" {
			subtype = "x-shellscript"
		}
		if t, _ := pm["type"].(string); t == "multipart" {
			// An embedded multipart message is included as is.
			fmt.Fprintf(&b, "\n--%s\n%s\n", boundary, strings.TrimRight(text, "\n"))
			continue
		}
		name, _ := pm["filename"].(string)
		if name == "" {
			name = fmt.Sprintf("part%d", i+1)
		}
		fmt.Fprintf(&b, "\n--%s\nContent-Type: text/%s; charset=\"us-ascii\"\nMIME-Version: 1.0\nContent-Transfer-Encoding: 7bit\nContent-Disposition: attachment; filename=\"%s\"\n\n%s\n",
			boundary, subtype, name, text)
	}
	fmt.Fprintf(&b, "\n--%s--\n", boundary)
	id := keyID(r.Key)
	m.store.put(id, map[string]any{"id": id, "group": r.Properties["group"], "config": b.String()})
	return &State{PhysicalID: id, Attributes: map[string]any{"config": b.String()}}, nil
}

func (m multipartType) Create(_ context.Context, r *Request) (*State, error) { return m.state(r) }
func (multipartType) Update(context.Context, *Request) (*State, error)       { return nil, ErrReplace }
func (multipartType) Delete(context.Context, *Request) error                 { return nil }
func (m multipartType) Check(_ context.Context, r *Request) (*State, error)  { return m.state(r) }

// deployedServerType is OS::Heat::DeployedServer: a server that exists
// already (provisioned outside the stack); it only carries its name and
// addresses for software deployments.
type deployedServerType struct{}

func (deployedServerType) Schema() *Schema {
	return &Schema{
		Properties: map[string]*Property{
			"name":                      {Type: TypeString, UpdateAllowed: true},
			"metadata":                  {Type: TypeMap, UpdateAllowed: true, Default: map[string]any{}},
			"software_config_transport": {Type: TypeString, Default: "POLL_SERVER_HEAT", AllowedValues: []any{"POLL_SERVER_CFN", "POLL_SERVER_HEAT", "POLL_TEMP_URL", "ZAQAR_MESSAGE"}},
			"deployment_swift_data":     {Type: TypeMap, Default: map[string]any{}},
			"ctlplane_ip":               {Type: TypeString, UpdateAllowed: true},
		},
		Attributes: map[string]string{"name": "", "networks": "", "os_collect_config": ""},
	}
}

func (deployedServerType) state(r *Request) (*State, error) {
	name, _ := r.Properties["name"].(string)
	if name == "" {
		name = r.Stack + "-" + strings.ReplaceAll(r.Name, "/", "-")
	}
	nets := map[string]any{}
	if ip, _ := r.Properties["ctlplane_ip"].(string); ip != "" {
		nets["ctlplane"] = []any{ip}
	}
	return &State{PhysicalID: keyID(r.Key), Attributes: map[string]any{"name": name, "networks": nets,
		"os_collect_config": map[string]any{}}}, nil
}

func (d deployedServerType) Create(_ context.Context, r *Request) (*State, error) { return d.state(r) }
func (d deployedServerType) Update(_ context.Context, r *Request) (*State, error) { return d.state(r) }
func (deployedServerType) Delete(context.Context, *Request) error                 { return nil }
func (d deployedServerType) Check(_ context.Context, r *Request) (*State, error)  { return d.state(r) }

// chainType marks OS::Heat::ResourceChain, which the engine expands like a
// group: one member per listed type, each after the previous one unless
// concurrent.
type chainType struct{ groupType }

func (chainType) Schema() *Schema {
	return &Schema{Properties: map[string]*Property{
		"resources":           {Type: TypeList, Required: true, UpdateAllowed: true},
		"concurrent":          {Type: TypeBoolean, Default: false, UpdateAllowed: true},
		"resource_properties": {Type: TypeMap, Default: map[string]any{}, UpdateAllowed: true},
	}, Attributes: map[string]string{"refs": "", "refs_map": "", "attributes": ""}}
}
