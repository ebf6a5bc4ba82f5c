// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @notice The two Merkle trees of the protocol, built in Solidity for the handlers:
/// reward tables (OpenZeppelin sorted-pair keccak, odd node carried up; verifier/merkle.py
/// SortedMerkleTree) and traces (positional sha256 over leaves padded with zero hashes to a
/// power of two; verifier/merkle.py TraceTree).
library Trees {
    function rewardLeaf(address account, int256 score, uint256 amount) internal pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(account, score, amount))));
    }

    function _pair(bytes32 a, bytes32 b) private pure returns (bytes32) {
        return a < b ? keccak256(abi.encodePacked(a, b)) : keccak256(abi.encodePacked(b, a));
    }

    /// @dev The root and the proof of `leaves[index]`.
    function sortedProof(bytes32[] memory leaves, uint256 index) internal pure returns (bytes32 root, bytes32[] memory proof) {
        bytes32 target = leaves[index];
        bytes32[] memory layer = _sorted(leaves);
        uint256 i;
        while (layer[i] != target) ++i;
        bytes32[] memory path = new bytes32[](8);
        uint256 n;
        while (layer.length > 1) {
            uint256 sibling = i ^ 1;
            if (sibling < layer.length) path[n++] = layer[sibling];
            bytes32[] memory next = new bytes32[]((layer.length + 1) / 2);
            for (uint256 j; j < layer.length; j += 2) {
                next[j / 2] = j + 1 < layer.length ? _pair(layer[j], layer[j + 1]) : layer[j];
            }
            layer = next;
            i /= 2;
        }
        proof = new bytes32[](n);
        for (uint256 j; j < n; ++j) proof[j] = path[j];
        root = layer[0];
    }

    function _sorted(bytes32[] memory leaves) private pure returns (bytes32[] memory out) {
        out = new bytes32[](leaves.length);
        for (uint256 i; i < leaves.length; ++i) out[i] = leaves[i];
        for (uint256 i = 1; i < out.length; ++i) {
            bytes32 v = out[i];
            uint256 j = i;
            while (j > 0 && out[j - 1] > v) {
                out[j] = out[j - 1];
                --j;
            }
            out[j] = v;
        }
    }

    /// @dev Root of a trace over `leaves` and the proof of `leaves[index]`.
    function traceProof(bytes32[] memory leaves, uint256 index) internal pure returns (bytes32 root, bytes32[] memory proof) {
        uint256 size = 1;
        uint256 depth;
        while (size < leaves.length) {
            size <<= 1;
            ++depth;
        }
        bytes32[] memory layer = new bytes32[](size);
        for (uint256 i; i < leaves.length; ++i) layer[i] = leaves[i];
        proof = new bytes32[](depth);
        uint256 pos = index;
        for (uint256 level; level < depth; ++level) {
            proof[level] = layer[pos ^ 1];
            bytes32[] memory next = new bytes32[](layer.length / 2);
            for (uint256 j; j < next.length; ++j) next[j] = sha256(abi.encodePacked(layer[2 * j], layer[2 * j + 1]));
            layer = next;
            pos >>= 1;
        }
        root = layer[0];
    }
}
