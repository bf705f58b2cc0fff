# Oracle for config's differential unit tests: runs the real pystache +
# os-apply-config renderer and Python's json on cases read as JSON lines
# from stdin, one JSON line of results per case on stdout.
# Each case: {"op": "render"|"dumps"|"indent"|"str"|"key", "t": template,
#             "m": metadata JSON text, "k": key, "type": key type}
import json
import sys

from os_apply_config import apply_config, renderers, value_types

for line in sys.stdin:
    case = json.loads(line)
    res = {}
    try:
        op = case["op"]
        if op == "render":
            md = json.loads(case["m"])
            r = renderers.JsonRenderer(missing_tags='ignore')
            res["out"] = r.render(case["t"], md)
        else:
            v = json.loads(case["m"])
            if op == "dumps":
                res["out"] = json.dumps(v)
            elif op == "indent":
                res["out"] = json.dumps(v, indent=1)
            elif op == "str":
                res["out"] = str(v)
            elif op == "key":
                val = v
                for k in case["k"].split('.'):
                    try:
                        val = val[k]
                        if val is None:
                            raise TypeError()
                    except (KeyError, TypeError):
                        try:
                            if type(val) == list:
                                val = val[int(k)]
                                continue
                        except (IndexError, ValueError):
                            pass
                        val = None
                        break
                if val is None:
                    res["missing"] = True
                else:
                    value_types.ensure_type(str(val), case["type"])
                    if isinstance(val, (dict, list, bool)):
                        res["out"] = json.dumps(val)
                    else:
                        res["out"] = str(val)
    except Exception as e:  # noqa
        res["err"] = "%s: %s" % (type(e).__name__, e)
    sys.stdout.write(json.dumps(res) + "\n")
    sys.stdout.flush()
