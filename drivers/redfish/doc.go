// Package redfish is the Redfish driver for package provision: power,
// boot override, virtual media and hardware inventory of one
// ComputerSystem, on github.com/stmcginnis/gofish (v0.25.0). Import it for
// its side effect:
//
//	import _ "github.com/tripleo-go/tripleo/drivers/redfish"
//
// # URL schemes
//
//   - redfish://host[:port][/path] — HTTPS (port 443)
//   - redfish+https://host[:port][/path] — the same
//   - redfish+http://host[:port][/path] — plain HTTP (port 80), for
//     emulators on loopback (drivers/sim, examples/sim-bmc)
//
// The path may name one system (/redfish/v1/Systems/1); without one (or
// with /redfish/v1) the service's single system is used, and a service
// listing several is refused with ErrInvalidAddress naming them. Query
// parameters:
//
//	insecure=true      do not verify the BMC's TLS certificate (logged at warn)
//	ca=PATH            verify it against this PEM bundle instead of the system roots (logged at warn)
//	auth=session|basic default: a session when the service root links one, else basic
//	timeout=D          per HTTP request, default 10s
//	retries=N          resends of a request that failed transiently (5xx, no answer,
//	                   malformed body), 0-10, default 2
//	boot_mode=uefi|legacy  the mode SetBootDevice requests; default unchanged
//
// TLS verification is on by default. Credentials come from
// provision.Credentials, never from the URL, and never appear in errors
// or logs. [Open] takes the same settings as [Options].
//
// # Behaviour
//
// Opening logs in (POST to the SessionService, or basic authentication)
// and then probes the system, an authenticated resource: a wrong password
// fails at open with an error wrapping provision.ErrAuth (401 and 403
// both). The session is reused for every call, logged into again once
// when the BMC drops it (401), and deleted by Close. Connections are kept
// alive and reused. Calls on one driver are serialised.
//
// Power actions are the ComputerSystem.Reset action: on → On (or
// ForceOn), off → ForceOff, soft-off → GracefulShutdown, cycle →
// PowerCycle (or ForceRestart), reset → ForceRestart (or PowerCycle),
// chosen among the ResetType values the system advertises (its
// AllowableValues, or its ActionInfo); none fitting is ErrUnsupported.
// PoweringOn reads as off and PoweringOff as on, so provision.BMC's
// verified power waits until the change is done; real BMCs act after a
// delay. SetPower is idempotent (on when on or powering on sends nothing).
//
// The boot override (Pxe, Hdd, Cd, BiosSetup; Once or Continuous; UEFI or
// Legacy) is a PATCH with If-Match; a 412 (the system changed since it
// was read) is refetched and sent again once. [Driver.BootOverride] reads
// the mode too. Virtual media: the first CD/DVD device under the system
// or its managers; [Driver.InsertMedia] (ejecting another image first),
// [Driver.EjectMedia], [Driver.MediaStatus] and [Driver.BootFromMedia]
// (insert, then a one-time Cd override), each read back.
// [Driver.HardwareInventory] fills provision.HardwareInventory from the
// system, its Processors, EthernetInterfaces, and Storage drives (else
// SimpleStorage devices).
//
// Errors wrap provision.ErrAuth (401/403), ErrUnreachable (no answer,
// 5xx, malformed responses after the retries), ErrUnsupported (action,
// boot target or media the system does not offer) or ErrInvalidAddress;
// HTTP errors are [*StatusError]. A link in a response that is not a
// local path (another host) is refused as malformed, so that the
// credentials are never sent elsewhere; redirects are not followed for
// the same reason.
//
// # Interfaces
//
// [*Driver] implements provision.PowerDriver, BootDeviceDriver,
// VirtualMediaDriver, InventoryDriver and Aser: As with a
// **gofish.APIClient reaches the authenticated client.
//
// # gofish bugs and limits worked around (v0.25.0)
//
//   - ConnectContext with BasicAuth does not check the password (the
//     service root is anonymous): the driver probes the system at open.
//   - Session auth needs Links.Sessions on the service root, else Connect
//     fails with "no target provided": the driver reads the root itself
//     and falls back to basic auth (auth=session forces the standard path).
//   - Collection reads (Service.Systems, GetCollectionObjects) fold member
//     errors into a *schemas.CollectionError that does not unwrap, hiding a
//     401 from errors.As, and follow Members@odata.nextLink without a
//     bound (a looping service recurses forever): the driver walks
//     collections itself, with a page bound and loop check.
//   - Responses are decoded without a size limit: the driver reads at most
//     4 MiB per response and decodes the bytes itself (the parsers are
//     fuzzed).
//   - Without ReuseConnections every request closes its connection; the
//     driver sets it and brings its own transport (NoModifyTransport).
//   - ComputerSystem.SetBoot does not retry a 412 on the system resource
//     (only falls back to a @Redfish.Settings resource): the driver does.
//   - A Boot read from the system carries its AllowableValues annotation,
//     which SetBoot would send back in the PATCH: the driver builds a
//     fresh Boot.
//   - VirtualMedia.EjectMediaActionInfo reads the InsertMedia action's
//     ActionInfo (copy-paste slip); the driver does not use it.
//   - Methods take no context: each request runs on a WithContext copy of
//     the client bound to a per-request deadline.
package redfish
