// Package collectortest is the conformance suite every refresh.Collector
// runs, built-in or third-party (the gocloud.dev drivertest idea): a
// collector author supplies a Harness that can change the source's
// metadata and make it fail, and Run checks the behaviour the Poll loop
// and the Agent rely on.
package collectortest
