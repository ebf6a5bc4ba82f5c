// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title BN254 (alt_bn128) points and the EIP-196/197 precompiles
/// @notice G1 addition (0x06), scalar multiplication (0x07), the pairing check (0x08) and a
/// try-and-increment hash to G1 (modexp, 0x05). G2 coordinates are in the precompile's order
/// (imaginary part first). Mirrors verifier/dispute/bls.py.
library BN254 {
    uint256 internal constant P = 21888242871839275222246405745257275088696311157297823662689037894645226208583; // field modulus
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617; // group order

    struct G1Point {
        uint256 x;
        uint256 y;
    }

    /// @dev x = (x_imag, x_real), y = (y_imag, y_real).
    struct G2Point {
        uint256[2] x;
        uint256[2] y;
    }

    /// @dev b of the twist y^2 = x^3 + b2 over Fp2: 3 / (9 + i), as (real, imaginary).
    uint256 internal constant B2_RE = 19485874751759354771024239261021720505790618469301721065564631296452457478373;
    uint256 internal constant B2_IM = 266929791119991161246907387137283842545076965332900288569378510910307636690;

    error BN254PrecompileFailed(uint8 precompile);

    /// @notice Whether `p` is a finite point of G1: coordinates reduced, not the point at
    /// infinity (0, 0), and on y^2 = x^3 + 3 (G1 has cofactor 1, so on the curve is in G1).
    function isValidG1(G1Point memory p) internal pure returns (bool) {
        if (p.x >= P || p.y >= P || (p.x == 0 && p.y == 0)) return false;
        return mulmod(p.y, p.y, P) == addmod(mulmod(mulmod(p.x, p.x, P), p.x, P), 3, P);
    }

    /// @notice Whether `p` is a finite point on the G2 twist y^2 = x^3 + 3 / (9 + i): all four
    /// coordinates reduced, not the point at infinity (all zero). Membership of the order-r
    /// subgroup is enforced by the pairing precompile (EIP-197), which every use of a G2 key
    /// goes through; a point outside it makes the precompile fail and the call revert.
    function isValidG2(G2Point memory p) internal pure returns (bool) {
        (uint256 xi, uint256 xr, uint256 yi, uint256 yr) = (p.x[0], p.x[1], p.y[0], p.y[1]);
        if (xi >= P || xr >= P || yi >= P || yr >= P) return false;
        if ((xi | xr | yi | yr) == 0) return false;
        (uint256 y2r, uint256 y2i) = _fp2Mul(yr, yi, yr, yi);
        (uint256 x2r, uint256 x2i) = _fp2Mul(xr, xi, xr, xi);
        (uint256 x3r, uint256 x3i) = _fp2Mul(x2r, x2i, xr, xi);
        return y2r == addmod(x3r, B2_RE, P) && y2i == addmod(x3i, B2_IM, P);
    }

    /// @dev (ar + ai i)(br + bi i) with i^2 = -1.
    function _fp2Mul(uint256 ar, uint256 ai, uint256 br, uint256 bi) private pure returns (uint256, uint256) {
        return (
            addmod(mulmod(ar, br, P), P - mulmod(ai, bi, P), P),
            addmod(mulmod(ar, bi, P), mulmod(ai, br, P), P)
        );
    }

    function generatorG1() internal pure returns (G1Point memory) {
        return G1Point(1, 2);
    }

    /// @notice The negated G2 generator.
    function negGeneratorG2() internal pure returns (G2Point memory) {
        return G2Point(
            [
                11559732032986387107991004021392285783925812861821192530917403151452391805634,
                10857046999023057135944570762232829481370756359578518086990519993285655852781
            ],
            [
                17805874995975841540914202342111839520379459829704422454583296818431106115052,
                13392588948715843804641432497768002650278120570034223513918757245338268106653
            ]
        );
    }

    function add(G1Point memory a, G1Point memory b) internal view returns (G1Point memory out) {
        uint256[4] memory input = [a.x, a.y, b.x, b.y];
        bool ok;
        assembly ("memory-safe") {
            ok := staticcall(gas(), 0x06, input, 0x80, out, 0x40)
        }
        if (!ok) revert BN254PrecompileFailed(6);
    }

    function mul(G1Point memory a, uint256 s) internal view returns (G1Point memory out) {
        uint256[3] memory input = [a.x, a.y, s];
        bool ok;
        assembly ("memory-safe") {
            ok := staticcall(gas(), 0x07, input, 0x60, out, 0x40)
        }
        if (!ok) revert BN254PrecompileFailed(7);
    }

    /// @notice Whether e(a1, a2) * e(b1, b2) == 1.
    function pairing2(G1Point memory a1, G2Point memory a2, G1Point memory b1, G2Point memory b2) internal view returns (bool) {
        uint256[12] memory input =
            [a1.x, a1.y, a2.x[0], a2.x[1], a2.y[0], a2.y[1], b1.x, b1.y, b2.x[0], b2.x[1], b2.y[0], b2.y[1]];
        uint256[1] memory out;
        bool ok;
        assembly ("memory-safe") {
            ok := staticcall(gas(), 0x08, input, 0x180, out, 0x20)
        }
        if (!ok) revert BN254PrecompileFailed(8);
        return out[0] == 1;
    }

    /// @notice Try-and-increment: x = keccak(message) mod P, the first x with x^3 + 3 square.
    function hashToG1(bytes memory message) internal view returns (G1Point memory) {
        uint256 x = uint256(keccak256(message)) % P;
        while (true) {
            uint256 rhs = addmod(mulmod(mulmod(x, x, P), x, P), 3, P);
            uint256 y = _expMod(rhs, (P + 1) / 4);
            if (mulmod(y, y, P) == rhs) return G1Point(x, y);
            x = addmod(x, 1, P);
        }
        revert(); // unreachable
    }

    function _expMod(uint256 base, uint256 exponent) private view returns (uint256 result) {
        uint256[6] memory input = [uint256(32), 32, 32, base, exponent, P];
        uint256[1] memory out;
        bool ok;
        assembly ("memory-safe") {
            ok := staticcall(gas(), 0x05, input, 0xc0, out, 0x20)
        }
        if (!ok) revert BN254PrecompileFailed(5);
        return out[0];
    }
}
