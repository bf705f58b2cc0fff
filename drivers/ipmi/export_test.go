package ipmi

// asfPingForTest exposes the RMCP ping to the external tests.
var AsfPingForTest = asfPing
