"""Runs Google's create_instances_from_document (google-research/bert at
eedf571, create_pretraining_data.py, passed as argv[1]) on corpus.ids.gz,
5 passes, max_seq_length 128, short_seq_prob 0.1, and prints the instance
count, NotNext share and forced (one-sentence chunk) count: the reference
for kiln's Google-coin mode (Config.BalanceWindow < 0). Masking is stubbed
out; no TensorFlow needed.

    python3 google_check.py create_pretraining_data.py [SEED]
"""
import collections, gzip, os, random, re, struct, sys

src = open(sys.argv[1]).read()
ns = {'collections': collections, 'FORCED': [0]}
for name in ('create_instances_from_document', 'truncate_seq_pair'):
    m = re.search(r'^def %s\(.*?(?=^def |^class |^MaskedLmInstance|^if __name__)' % name, src, re.S | re.M)
    code = m.group(0).replace(
        "if len(current_chunk) == 1 or rng.random() < 0.5:",
        "FORCED[0] += len(current_chunk) == 1\n        if len(current_chunk) == 1 or rng.random() < 0.5:")
    exec(code, ns)
ns['TrainingInstance'] = lambda **kw: type('TI', (), kw)
ns['create_masked_lm_predictions'] = lambda tokens, *a: (tokens, [], [])

data = gzip.open(os.path.join(os.path.dirname(__file__), 'corpus.ids.gz')).read()
docs, doc, sent = [], [], []
for w in struct.unpack('<%dH' % (len(data) // 2), data):
    if w == 0xffff:
        doc.append(sent); sent = []
    elif w == 0xfffe:
        docs.append(doc); doc = []
    else:
        sent.append(w)

rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 12345)
n = notnext = 0
for _ in range(5):
    for i in range(len(docs)):
        insts = ns['create_instances_from_document'](docs, i, 128, 0.1, 0.15, 20, None, rng)
        n += len(insts)
        notnext += sum(x.is_random_next for x in insts)
print('google: %d instances, NotNext %.2f%%, forced %d (%.1f%%)' % (
    n, 100.0 * notnext / n, ns['FORCED'][0], 100.0 * ns['FORCED'][0] / n))
