package tripleo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/tripleo-go/tripleo/image"
	"github.com/tripleo-go/tripleo/orchestrate"
	"github.com/tripleo-go/tripleo/provision"
	"github.com/tripleo-go/tripleo/refresh"
)

// Provisioner is what a Cloud needs from its node service: the node
// lifecycle, and the inventory in which servers record which node they
// claimed. *provision.Provisioner is the embedded default; a program
// driving nodes elsewhere (drivers/ironic's Provisioner with an inventory
// of its own) implements it to run the same Cloud.
type Provisioner interface {
	provision.Lifecycle
	// Inventory returns the node store.
	Inventory() provision.Inventory
}

// ErrClosed means the Cloud was used after Close.
var ErrClosed = errors.New("cloud closed")

// Options configure a Cloud. Every nil or zero field gets the embedded
// default, kept under the Cloud's directory.
type Options struct {
	// Provisioner drives the nodes; nil means a provision.Provisioner over
	// Inventory, closed by Cloud.Close.
	Provisioner Provisioner
	// Inventory stores the nodes when Provisioner is nil; nil means a
	// provision.FileInventory at DIR/inventory.json.
	Inventory provision.Inventory
	// Provision configures the Provisioner made when Provisioner is nil;
	// its Logger defaults to Logger.
	Provision provision.Options
	// Images is the image store; nil means an image.Store in DIR/images.
	Images image.Images
	// ImageWriter returns the deploy step writing a raw image onto a
	// node's disk (drivers/sim's Datacenter.DeployStep fits); nil means
	// servers cannot name an image.
	ImageWriter func(path string) provision.DeployStep
	// Flavors maps flavor names to the node properties they need (see
	// ServerOptions.Flavors).
	Flavors map[string]map[string]string
	// OpenEngine opens the engine of the named stack with opts (the
	// Engine template completed for that stack); nil means the embedded
	// engine, orchestrate.Open, with its state in DIR/stacks/NAME.state.
	// Another Engine (drivers/heat's, on a real Heat) fits: the Cloud's
	// metadata and signal service then serves only engines that publish
	// server metadata and handle signals as the embedded one does (a real
	// Heat serves its own).
	OpenEngine func(ctx context.Context, stack string, opts *orchestrate.Options) (orchestrate.Engine, error)
	// Engine is the template of each stack's orchestrate.Options. Types
	// (nil: orchestrate.NewTypes()) gets the bare-metal server registered
	// as OS::Nova::Server; Metadata, MetadataURL and SignalURL are set to
	// the Cloud's HTTP service; Logger defaults to Logger.
	Engine orchestrate.Options
	// Listen is the loopback host:port of the metadata and signal HTTP
	// service; "" means 127.0.0.1 on a free port. Other than loopback
	// addresses are refused.
	Listen string
	// Boot configures the Cloud's NodeBooter (see Cloud.Booter); its
	// Logger defaults to Logger.
	Boot BootOptions
	// Logger receives the Cloud's records; nil discards.
	Logger *slog.Logger
}

// Cloud ties the parts of a TripleO deployment together: the node
// inventory and provisioner, the image store, one orchestration engine per
// stack (state in DIR/stacks/NAME.state) with the bare-metal server type,
// and an HTTP service on loopback that node agents read their metadata from
// and signal back to:
//
//	/metadata/{token}        server metadata documents (refresh.MetadataServer)
//	/servers/{physical id}   redirects to the server's metadata document
//	/signal/{stack}/{token}  signals for the stack's engine
type Cloud struct {
	dir     string
	log     *slog.Logger
	prov    Provisioner
	ownProv bool
	images  image.Images
	types   *orchestrate.Types
	servers *ServerType
	engOpts orchestrate.Options
	md      *refresh.MetadataServer
	booter  *NodeBooter
	srv     *http.Server
	ln      net.Listener
	url     string

	mu      sync.Mutex
	closed  bool
	engines map[string]orchestrate.Engine
	openEng func(ctx context.Context, stack string, opts *orchestrate.Options) (orchestrate.Engine, error)
}

var stackName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]{0,254}$`)

// Open opens (creating it if needed) the cloud kept in dir, fills in the
// embedded defaults and starts the metadata and signal service.
func Open(ctx context.Context, dir string, opts *Options) (*Cloud, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if dir == "" {
		return nil, errors.New("tripleo: open cloud: empty directory")
	}
	if err := os.MkdirAll(filepath.Join(dir, "stacks"), 0o700); err != nil {
		return nil, fmt.Errorf("tripleo: open cloud: %w", err)
	}
	c := &Cloud{dir: dir, log: o.Logger, engines: map[string]orchestrate.Engine{}}
	c.openEng = o.OpenEngine
	if c.openEng == nil {
		c.openEng = func(ctx context.Context, stack string, opts *orchestrate.Options) (orchestrate.Engine, error) {
			return orchestrate.Open(ctx, filepath.Join(dir, "stacks", stack+".state"), opts)
		}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.prov = o.Provisioner
	if c.prov == nil {
		inv := o.Inventory
		if inv == nil {
			fi, err := provision.OpenFileInventory(filepath.Join(dir, "inventory.json"), &provision.FileInventoryOptions{Logger: c.log})
			if err != nil {
				return nil, fmt.Errorf("tripleo: open cloud: %w", err)
			}
			inv = fi
		}
		po := o.Provision
		if po.Logger == nil {
			po.Logger = c.log
		}
		c.prov = provision.NewProvisioner(inv, &po)
		c.ownProv = true
	}
	c.images = o.Images
	if c.images == nil {
		st, err := image.OpenStore(filepath.Join(dir, "images"), &image.StoreOptions{Logger: c.log})
		if err != nil {
			c.closeProv()
			return nil, fmt.Errorf("tripleo: open cloud: %w", err)
		}
		c.images = st
	}

	listen := o.Listen
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(listen)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		c.closeProv()
		return nil, fmt.Errorf("tripleo: open cloud: Listen %q: not a loopback host:port", listen)
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", listen)
	if err != nil {
		c.closeProv()
		return nil, fmt.Errorf("tripleo: open cloud: %w", err)
	}
	c.ln = ln
	c.url = "http://" + ln.Addr().String()
	c.md = refresh.NewMetadataServer(nil)

	c.types = o.Engine.Types
	if c.types == nil {
		c.types = orchestrate.NewTypes()
	}
	c.servers = NewServerType(c.prov, &ServerOptions{
		Images: c.images, ImageWriter: o.ImageWriter, Flavors: o.Flavors,
		MetadataBase: c.url + "/servers", Logger: c.log,
	})
	c.types.Register(TypeServer, c.servers)
	registerConstraints(c.types, c.servers)
	bo := o.Boot
	if bo.Logger == nil {
		bo.Logger = c.log
	}
	c.booter = NewNodeBooter(&bo)
	c.engOpts = o.Engine
	c.engOpts.Types = c.types
	c.engOpts.Metadata = c.md
	c.engOpts.MetadataURL = c.url + "/metadata"
	if c.engOpts.Logger == nil {
		c.engOpts.Logger = c.log
	}

	mux := http.NewServeMux()
	mux.Handle("/metadata/", http.StripPrefix("/metadata", c.md))
	mux.HandleFunc("GET /servers/{id}", c.serveServer)
	mux.HandleFunc("POST /signal/{stack}/{token}", c.serveSignal)
	c.srv = &http.Server{Handler: mux}
	go func() {
		if err := c.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			c.log.Error("metadata service stopped", "err", err)
		}
	}()
	c.log.Info("cloud open", "dir", dir, "url", c.url)
	return c, nil
}

func (c *Cloud) closeProv() {
	if c.ownProv {
		_ = c.prov.Close()
	}
}

// URL returns the base URL of the metadata and signal service.
func (c *Cloud) URL() string { return c.url }

// Dir returns the cloud's directory.
func (c *Cloud) Dir() string { return c.dir }

// Provisioner returns the provisioner.
func (c *Cloud) Provisioner() Provisioner { return c.prov }

// Inventory returns the node inventory.
func (c *Cloud) Inventory() provision.Inventory { return c.prov.Inventory() }

// Images returns the image store.
func (c *Cloud) Images() image.Images { return c.images }

// Types returns the resource type registry the stacks use; register
// further types on it before opening a stack.
func (c *Cloud) Types() *orchestrate.Types { return c.types }

// Booter returns the Cloud's NodeBooter, the drivers/sim Booter that
// makes a simulated machine deployed by the Cloud boot its image and run
// its node agent against the Cloud:
//
//	dc.SetBooter(cloud.Booter()) // or sim.Options{Booter: ...}
//
// Close stops the agents it runs.
func (c *Cloud) Booter() *NodeBooter { return c.booter }

// Servers returns the bare-metal server resource type.
func (c *Cloud) Servers() *ServerType { return c.servers }

// Stack returns the engine of the named stack, opening it (and resuming an
// operation a crash interrupted) on first use. The Cloud closes it.
func (c *Cloud) Stack(ctx context.Context, name string) (orchestrate.Engine, error) {
	if !stackName.MatchString(name) {
		return nil, fmt.Errorf("tripleo: stack name %q: must be a letter then letters, digits, '_', '.' or '-'", name)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, fmt.Errorf("tripleo: stack %s: %w", name, ErrClosed)
	}
	if e := c.engines[name]; e != nil {
		return e, nil
	}
	o := c.engOpts
	o.SignalURL = c.url + "/signal/" + name
	e, err := c.openEng(ctx, name, &o)
	if err != nil {
		return nil, fmt.Errorf("tripleo: stack %s: %w", name, err)
	}
	c.engines[name] = e
	return e, nil
}

func (c *Cloud) engine(name string) orchestrate.Engine {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.engines[name]
}

// signalServer and metadataPublisher are what the Cloud's HTTP service
// needs of an engine (the embedded one has both).
type (
	signalServer interface{ SignalHandler() http.Handler }

	metadataPublisher interface {
		ServerMetadata(server string) (doc map[string]any, token string, err error)
	}
)

func (c *Cloud) serveSignal(w http.ResponseWriter, r *http.Request) {
	e, ok := c.engine(r.PathValue("stack")).(signalServer)
	if !ok {
		http.NotFound(w, r)
		return
	}
	http.StripPrefix("/signal/"+r.PathValue("stack"), e.SignalHandler()).ServeHTTP(w, r)
}

// serveServer redirects a server's stable metadata URL to the document the
// engine publishes for it (the engine picks the token when a deployment
// first targets the server).
func (c *Cloud) serveServer(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	c.mu.Lock()
	engines := make([]metadataPublisher, 0, len(c.engines))
	for _, e := range c.engines {
		if p, ok := e.(metadataPublisher); ok {
			engines = append(engines, p)
		}
	}
	c.mu.Unlock()
	for _, e := range engines {
		if _, token, err := e.ServerMetadata(id); err == nil {
			u := "/metadata/" + token
			if r.URL.RawQuery != "" {
				u += "?" + r.URL.RawQuery
			}
			http.Redirect(w, r, u, http.StatusTemporaryRedirect)
			return
		}
	}
	http.Error(w, "no metadata for server "+strings.ReplaceAll(id, "\n", ""), http.StatusNotFound)
}

// Close stops the node agents its Booter runs and the HTTP service, and
// closes the stacks' engines and the parts the Cloud created. It is
// idempotent.
func (c *Cloud) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	engines := c.engines
	c.engines = nil
	c.mu.Unlock()
	errs := []error{c.booter.Close(), c.srv.Close()}
	for _, e := range engines {
		errs = append(errs, e.Close())
	}
	if c.ownProv {
		errs = append(errs, c.prov.Close())
	}
	return errors.Join(errs...)
}
