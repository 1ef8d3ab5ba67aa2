"""Time Python trafilatura on the extraction corpus (single thread) and write <id>.txt."""
import glob, json, os, sys, time, resource
import trafilatura
gold, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
pages = []
for f in sorted(glob.glob(os.path.join(gold, '*.html'))):
    pid = os.path.basename(f)[:-5]
    with open(f, 'rb') as fh:
        raw = fh.read()
    url = json.load(open(f[:-5] + '.json')).get('url')
    pages.append((pid, raw, url))
# warm-up (imports, lazy init) outside the timing
trafilatura.extract(pages[0][1].decode('utf-8', 'replace'), url=pages[0][2])
t = time.perf_counter()
c = time.process_time()
results = []
for pid, raw, url in pages:
    html = trafilatura.utils.decode_file(raw) if hasattr(trafilatura.utils, 'decode_file') else raw.decode('utf-8', 'replace')
    txt = trafilatura.extract(html, url=url, output_format='txt') or ''
    results.append((pid, txt))
el = time.perf_counter() - t
cpu = time.process_time() - c
for pid, txt in results:
    open(os.path.join(out, pid + '.txt'), 'w').write(txt)
print(f"trafilatura {trafilatura.__version__}: pages {len(pages)} seconds {el:.2f} pages/s {len(pages)/el:.1f} (cpu {cpu:.2f}s: {len(pages)/cpu:.1f} pages/cpu-s) maxrss {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss} kB")
