package hot

import (
	"fmt"
	"sort"
	"strings"
)

// Version is a HOT template version, identified by its date.
type Version string

// The template versions this package reads, oldest first.
const (
	V20130523 Version = "2013-05-23"
	V20141016 Version = "2014-10-16"
	V20150430 Version = "2015-04-30"
	V20151015 Version = "2015-10-15"
	V20160408 Version = "2016-04-08"
	V20161014 Version = "2016-10-14" // newton
	V20170224 Version = "2017-02-24" // ocata
	V20170901 Version = "2017-09-01" // pike
	V20180302 Version = "2018-03-02" // queens
	V20180831 Version = "2018-08-31" // rocky
	V20210416 Version = "2021-04-16" // wallaby
)

var versions = []Version{V20130523, V20141016, V20150430, V20151015, V20160408,
	V20161014, V20170224, V20170901, V20180302, V20180831, V20210416}

var aliases = map[string]Version{
	"newton": V20161014, "ocata": V20170224, "pike": V20170901,
	"queens": V20180302, "rocky": V20180831, "wallaby": V20210416,
}

// ParseVersion accepts a version date or its release-name alias.
func ParseVersion(s string) (Version, error) {
	if v, ok := aliases[s]; ok {
		return v, nil
	}
	for _, v := range versions {
		if string(v) == s {
			return v, nil
		}
	}
	names := make([]string, 0, len(versions)+len(aliases))
	for _, v := range versions {
		names = append(names, string(v))
	}
	for a := range aliases {
		names = append(names, a)
	}
	sort.Strings(names)
	return "", fmt.Errorf("%w: unknown heat_template_version %q (known: %s)", ErrInvalid, s, strings.Join(names, ", "))
}

// AtLeast reports whether v is o or newer.
func (v Version) AtLeast(o Version) bool { return v >= o }

// functionSince is the version in which each HOT function appeared.
var functionSince = map[string]Version{
	"get_attr": V20130523, "get_file": V20130523, "get_param": V20130523,
	"get_resource": V20130523, "resource_facade": V20130523, "str_replace": V20130523,
	"list_join":   V20141016,
	"digest":      V20150430,
	"repeat":      V20150430,
	"str_split":   V20151015,
	"map_merge":   V20160408,
	"map_replace": V20161014, "if": V20161014,
	"filter": V20170224, "str_replace_strict": V20170224,
	"make_url": V20170901, "list_concat": V20170901, "list_concat_unique": V20170901,
	"str_replace_vstrict": V20170901, "contains": V20170901,
}

// unsupported functions are recognised (so that they are not mistaken for
// data) but not implemented by this engine.
var unsupported = map[string]string{
	"yaql": "yaql is not supported yet",
}

// removed CloudFormation-style functions: valid only in 2013-05-23 HOT, and
// not implemented here.
var removed = map[string]bool{
	"Fn::GetAZs": true, "Fn::Join": true, "Fn::Split": true, "Fn::Replace": true,
	"Fn::Base64": true, "Fn::MemberListToMap": true, "Fn::ResourceFacade": true,
	"Ref": true, "Fn::Select": true, "Fn::GetAtt": true,
}

// conditionSince lists the functions allowed in the conditions section.
var conditionSince = map[string]Version{
	"get_param": V20161014, "equals": V20161014, "not": V20161014,
	"and": V20161014, "or": V20161014, "contains": V20170901,
}

// Functions returns the HOT functions available in v, sorted.
func (v Version) Functions() []string {
	var out []string
	for f, since := range functionSince {
		if v.AtLeast(since) {
			out = append(out, f)
		}
	}
	sort.Strings(out)
	return out
}

// checkFunction reports whether name is a function in v; known is false for
// names that are plain data.
func (v Version) checkFunction(name string) (known bool, err error) {
	if since, ok := functionSince[name]; ok {
		if !v.AtLeast(since) {
			return true, fmt.Errorf("%w: %s needs heat_template_version %s or later (this template is %s)", ErrVersion, name, since, v)
		}
		return true, nil
	}
	if msg, ok := unsupported[name]; ok {
		return true, fmt.Errorf("%w: %s", ErrInvalid, msg)
	}
	if removed[name] {
		return true, fmt.Errorf("%w: %s is not supported in HOT templates here", ErrVersion, name)
	}
	return false, nil
}
