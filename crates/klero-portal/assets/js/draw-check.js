// draw-check.js: the "Check this draw" button of a case page. The page carries
//   <section id="draw-check" data-case="ID" data-proof-url="/api/v1/cases/ID/proof"
//            data-label-check=".." data-label-pass=".." data-label-fail="..">
//     <button type="button" id="draw-check-button" hidden>…</button>
//     <p id="draw-check-result" role="status"></p>
//   </section>
// Without JavaScript the button stays hidden. With it, a click fetches the case's proof and
// re-checks, in this browser and with code written apart from the server's (klero-verify.js):
// each entry's hash, its inclusion in the checkpoint's Merkle tree, the beacon step, the seed and
// the judges sampled from the recorded weights. The result's `data-state` is `pass` or `fail`.

import { checkCaseProof, parseJson } from './klero-verify.js';

const section = document.getElementById('draw-check');
const button = document.getElementById('draw-check-button');
const out = document.getElementById('draw-check-result');

function show(state, text) {
  out.textContent = text;
  out.dataset.state = state;
  section.dataset.state = state;
}

async function check() {
  const d = section.dataset;
  button.disabled = true;
  show('running', d.labelCheck || 'Checking…');
  try {
    const r = await fetch(d.proofUrl, { headers: { accept: 'application/json' }, cache: 'no-store' });
    if (!r.ok) throw new Error(`the server answered ${r.status} for ${d.proofUrl}`);
    const proof = parseJson(await r.text());
    if (proof.case !== d.case) throw new Error(`the proof is for case ${proof.case}, not for case ${d.case}`);
    const results = checkCaseProof(proof);
    const cp = proof.filing.checkpoint;
    const lines = results.map((x) => {
      const how = x.seed ? `seed ${x.seed.slice(0, 16)}…, beacon round ${x.round}` : `bound (${x.method})`;
      return `${x.chosen.join(', ')} (${how})`;
    });
    show('pass', `${d.labelPass || 'The draw checks out.'} ${lines.join('; ')}. Log size ${cp.size}, root ${cp.root.slice(0, 16)}….`);
  } catch (e) {
    const where = e.section ? ` (SPEC ${e.section})` : '';
    show('fail', `${d.labelFail || 'The draw does not check out:'} ${e.message}${where}`);
  } finally {
    button.disabled = false;
  }
}

if (section && button && out) {
  button.hidden = false;
  button.addEventListener('click', check);
}
