// Runs @openzeppelin/merkle-tree's StandardMerkleTree on cases read as JSON from stdin and
// writes, per case, the library's root, proofs and dump, whether our proofs verify with the
// library, and what StandardMerkleTree.load makes of our dump.
//
// stdin:  [{"encoding": [...], "rows": [[...], ...], "ours": {"root", "proofs": [[...]], "dump"}}]
// stdout: [{"root", "proofs", "dump", "oursVerify": [bool], "loadedRoot", "loadedProofs"}]
'use strict';
const { StandardMerkleTree } = require('@openzeppelin/merkle-tree');

function run(c) {
  const tree = StandardMerkleTree.of(c.rows, c.encoding);
  const proofs = c.rows.map((_, i) => tree.getProof(i));
  const oursVerify = c.rows.map((row, i) => StandardMerkleTree.verify(c.ours.root, c.encoding, row, c.ours.proofs[i]));
  const loaded = StandardMerkleTree.load(c.ours.dump); // throws if the dump is not valid
  const loadedProofs = c.rows.map(row => loaded.getProof(row));
  return { root: tree.root, proofs, dump: tree.dump(), oursVerify, loadedRoot: loaded.root, loadedProofs };
}

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', chunk => { input += chunk; });
process.stdin.on('end', () => {
  process.stdout.write(JSON.stringify(JSON.parse(input).map(run)));
});
