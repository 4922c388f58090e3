#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""promcheck FILE: parse a Prometheus text exposition (format 0.0.4) strictly.

Exits 1 naming the first line that breaks the format, else prints each
sample as NAME{LABELS} VALUE, labels sorted, one a line, for a test to grep.
Checked: HELP and TYPE lines (once per family, TYPE before its samples),
metric and label names, label value escapes, duplicate labels and series,
values, a family's samples kept together, counters not negative, and each
histogram's buckets: le ascending, counts cumulative, +Inf present and
equal to _count, _sum present. promtool check metrics, where Debian's
prometheus package is installed, checks the same file as well (tests/cli).
"""
import math
import re
import sys

NAME = re.compile(r'[a-zA-Z_:][a-zA-Z0-9_:]*')
LABEL = re.compile(r'[a-zA-Z_][a-zA-Z0-9_]*')
TYPES = {'counter', 'gauge', 'histogram', 'summary', 'untyped'}


class Bad(Exception):
    pass


def value(s):
    if s in ('+Inf', 'Inf'):
        return math.inf
    if s == '-Inf':
        return -math.inf
    if s == 'NaN':
        return math.nan
    if not re.fullmatch(r'[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?', s):
        raise Bad('not a number: %r' % s)
    return float(s)


def labels(s, i):
    """Parse {a="b",...} from s[i] == '{'; return (dict, index after '}')."""
    out = {}
    i += 1
    while True:
        if s[i] == '}':
            return out, i + 1
        m = LABEL.match(s, i)
        if not m:
            raise Bad('bad label name at column %d' % (i + 1))
        name = m.group(0)
        if name.startswith('__'):
            raise Bad('reserved label name %s' % name)
        i = m.end()
        if s[i:i + 2] != '="':
            raise Bad('expected =" after label %s' % name)
        i += 2
        v = []
        while True:
            if i >= len(s):
                raise Bad('unterminated label value')
            c = s[i]
            if c == '"':
                i += 1
                break
            if c == '\\':
                e = s[i + 1:i + 2]
                if e not in ('\\', '"', 'n'):
                    raise Bad('bad escape \\%s in label value' % e)
                v.append('\n' if e == 'n' else e)
                i += 2
                continue
            if c == '\n':
                raise Bad('newline in label value')
            v.append(c)
            i += 1
        if name in out:
            raise Bad('label %s twice' % name)
        out[name] = ''.join(v)
        if s[i] == ',':
            i += 1
        elif s[i] != '}':
            raise Bad('expected , or } after label %s' % name)


def family(name, types):
    for suf in ('_bucket', '_sum', '_count'):
        base = name[:-len(suf)]
        if name.endswith(suf) and types.get(base) in ('histogram', 'summary'):
            return base
    return name


def check(text):
    if text and not text.endswith('\n'):
        raise Bad('the last line has no newline')
    types, helps, seen, done = {}, set(), set(), set()
    current = None
    samples = []
    for no, line in enumerate(text.split('\n')[:-1], 1):
        try:
            if line == '':
                continue
            if line.startswith('#'):
                parts = line.split(' ', 3)
                if len(parts) >= 3 and parts[1] in ('HELP', 'TYPE'):
                    if not NAME.fullmatch(parts[2]):
                        raise Bad('bad metric name %r' % parts[2])
                    if parts[1] == 'HELP':
                        if parts[2] in helps:
                            raise Bad('HELP for %s twice' % parts[2])
                        helps.add(parts[2])
                        if re.search(r'\\[^\\n]', parts[3] if len(parts) > 3 else ''):
                            raise Bad('bad escape in HELP')
                    else:
                        if len(parts) != 4 or parts[3] not in TYPES:
                            raise Bad('bad TYPE line')
                        if parts[2] in types:
                            raise Bad('TYPE for %s twice' % parts[2])
                        if parts[2] in done or parts[2] == current:
                            raise Bad('TYPE for %s after its samples' % parts[2])
                        types[parts[2]] = parts[3]
                continue
            m = NAME.match(line)
            if not m:
                raise Bad('bad metric name')
            name, i = m.group(0), m.end()
            lab = {}
            if i < len(line) and line[i] == '{':
                lab, i = labels(line, i)
            rest = line[i:]
            if not rest.startswith(' '):
                raise Bad('expected a space before the value')
            fields = rest[1:].split(' ')
            if len(fields) not in (1, 2) or fields[0] == '':
                raise Bad('expected a value and an optional timestamp')
            v = value(fields[0])
            if len(fields) == 2 and not re.fullmatch(r'-?\d+', fields[1]):
                raise Bad('bad timestamp')
            fam = family(name, types)
            if fam != current:
                if fam in done:
                    raise Bad('samples of %s are not together' % fam)
                if current:
                    done.add(current)
                current = fam
            key = (name, tuple(sorted(lab.items())))
            if key in seen:
                raise Bad('series %s%s twice' % key)
            seen.add(key)
            t = types.get(fam, 'untyped')
            if t == 'counter' and (math.isnan(v) or v < 0):
                raise Bad('counter %s is %s' % (name, fields[0]))
            if t == 'histogram' and name == fam:
                raise Bad('histogram %s sample without _bucket, _sum or _count' % name)
            if t == 'histogram' and name.endswith('_bucket') and 'le' not in lab:
                raise Bad('bucket without le')
            samples.append((no, fam, t, name, lab, v))
        except (Bad, IndexError) as e:
            raise Bad('line %d: %s: %s' % (no, e if isinstance(e, Bad) else 'truncated', line))
    # histograms: per label set (le aside)
    hist = {}
    for no, fam, t, name, lab, v in samples:
        if t != 'histogram':
            continue
        rest = tuple(sorted((k, x) for k, x in lab.items() if k != 'le'))
        h = hist.setdefault((fam, rest), {'b': [], 'sum': None, 'count': None})
        if name.endswith('_bucket'):
            h['b'].append((value(lab['le']), v, no))
        elif name.endswith('_sum'):
            h['sum'] = v
        else:
            h['count'] = v
    for (fam, rest), h in hist.items():
        les = [b[0] for b in h['b']]
        if les != sorted(les) or len(set(les)) != len(les):
            raise Bad('%s: le not ascending' % fam)
        counts = [b[1] for b in h['b']]
        if counts != sorted(counts):
            raise Bad('%s: bucket counts not cumulative' % fam)
        if not les or les[-1] != math.inf:
            raise Bad('%s: no +Inf bucket' % fam)
        if h['count'] is None or h['count'] != counts[-1]:
            raise Bad('%s: _count is not the +Inf bucket' % fam)
        if h['sum'] is None:
            raise Bad('%s: no _sum' % fam)
    return samples


def main():
    if len(sys.argv) != 2:
        print('usage: promcheck FILE', file=sys.stderr)
        return 2
    with open(sys.argv[1], encoding='utf-8') as f:
        text = f.read()
    try:
        samples = check(text)
    except Bad as e:
        print('promcheck: %s: %s' % (sys.argv[1], e), file=sys.stderr)
        return 1
    for no, fam, t, name, lab, v in samples:
        ls = ','.join('%s="%s"' % kv for kv in sorted(lab.items()))
        print('%s%s %s' % (name, '{%s}' % ls if ls else '', ('%.15g' % v) if v == v else 'NaN'))
    return 0


if __name__ == '__main__':
    sys.exit(main())
