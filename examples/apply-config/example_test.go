package main

import (
	"context"
	"os"
)

// The whole example, as `go run ./examples/apply-config` prints it.
func Example() {
	if err := run(context.Background(), os.Stdout); err != nil {
		panic(err)
	}
	// Output:
	// == templates: 4 files (plus their .oac control files)
	// == apply metadata v1 (node overcloud-compute-0, no NTP servers, not in maintenance)
	//    created  etc/chrony/chrony.conf (mode 0644)
	//    created  etc/hosts (mode 0644)
	//    created  etc/nova/nova.conf (mode 0640)
	//    3 changed, 0 unchanged
	//    --- etc/chrony/chrony.conf
	//    | # managed by os-apply-config for overcloud-compute-0
	//    | pool pool.ntp.org iburst
	// == apply metadata v2 (two NTP servers, maintenance message)
	//    updated  etc/chrony/chrony.conf (mode 0644)
	//    created  etc/motd.d/maintenance (mode 0644)
	//    2 changed, 2 unchanged
	//    --- etc/chrony/chrony.conf
	//    | # managed by os-apply-config for overcloud-compute-0
	//    | server 0.pool.example.com iburst
	//    | server 1.pool.example.com iburst
	//    --- etc/motd.d/maintenance
	//    | This node is in maintenance: kernel upgrade, back at 14:00 UTC
	// == apply metadata v2 again
	//    0 changed, 4 unchanged
	// == done: only the files whose content changed were reported (and rewritten)
}
