// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {BN254} from "../libraries/BN254.sol";

/// @title Verde-style refereed disputes over a revealed training submission
/// @notice A challenger (a registered verifier) that re-executed a trainer's round and got a
/// different final state opens a dispute with a bond, its own trace root and proofs of its
/// S_0 and S_K. The defender answers with its own S_0 and S_K, proven against the trace root
/// it revealed. Then:
///
/// Phase 1 (steps): each move asks both parties for S_m, m = (lo + hi) / 2, with a Merkle
/// proof against their own trace roots; equal values move lo to m, different ones move hi.
/// The range [0, K] is padded to a power of two: a midpoint at or past K (where every value
/// is the disputed S_K) moves hi without posts. Ends after exactly ceil(log2 K) moves with
/// S_lo agreed and S_lo+1 disputed: step t = lo.
///
/// Phase 2 (operators): each party posts c_(M-1) of its operator prefix chain for step t
/// (c_0 = S_t, c_j = sha256(c_(j-1) || h_j)); the contract derives c_M = sha256(c_(M-1) || S_t+1)
/// with each party's proven S_t+1 (the step's last operator outputs the state hash). Each
/// move asks both for c_m (padded as in phase 1); after exactly ceil(log2 M) moves c_j is
/// agreed and c_(j+1) disputed: operator j.
///
/// Binding a reveal to its trace: the defender's S_K, proven against its own trace root in
/// `respond`, must equal the `finalStateHash` it revealed, or the challenger wins at once (an
/// honest trace revealed with another final state loses, and cannot make the challenger that
/// re-executed it lose its bond). The published delta must be `params(S_K) - base`: a
/// challenger whose re-execution reproduces S_K but not the delta opens a *delta dispute*
/// (`openDelta`) with the hash of the delta CID it computed. That dispute needs no bisection:
/// the delta operator's inputs (the revealed S_K and the round's base model) are agreed from
/// the start, so it goes straight to a verdict on operator FINAL_DELTA, whose output is
/// sha256 of the CID (CIDv1, as `ipfs add --cid-version=1`) of the canonical encoding of
/// `params(S_K) - base`; the defender's value is sha256 of the `deltaCid` it revealed.
///
/// The referee committee recomputes operator j from inputs checked against agreed hashes and
/// signs (chainId, game, disputeId, j, h_j); the party whose c_(j+1) equals
/// sha256(c_j || h_j) wins. When the S_0 values differ the committee decides S_0 itself
/// (operator index INITIAL_STATE). A party that misses a deadline loses; if both miss one the
/// challenger loses (its accusation was not pursued). Without a verdict by its deadline the
/// dispute is cancelled and the bond returned. A losing defender is slashed `slashBps` of its
/// slashable stake and disqualified from the round's rewards, `rewardBps` of that paid to the challenger and the rest burnt; a losing
/// challenger loses its bond, `rewardBps` of it paid to the defender and the rest burnt. The
/// round cannot finalize while a dispute on it is open.
///
/// Disputes open only in the round's Score and Challenge phases before the phase deadline,
/// once per (submission, challenger) whatever the outcome, and never after a dispute over the
/// same submission ended with a result. Votes and verdicts count the committee as it was
/// when the dispute opened (its snapshot).
interface IDisputeGame {
    enum Stage {
        None,
        AwaitDefender,
        Steps,
        ChainEnd,
        Ops,
        AwaitVerdict,
        Resolved
    }

    enum Party {
        None,
        Defender,
        Challenger
    }

    /// @notice Economic and timing parameters, fixed at deployment.
    struct GameParams {
        uint256 bond;
        uint64 moveDuration;
        uint64 verdictDuration;
        uint16 slashBps;
        uint16 rewardBps;
    }

    struct Dispute {
        uint256 taskId;
        uint32 round;
        Stage stage;
        Party winner;
        bool cancelled;
        uint8 posted; // bit 0: defender posted this move, bit 1: challenger
        uint64 deadline;
        address defender;
        address challenger;
        uint32 steps; // K
        uint32 ops; // M
        uint32 lo;
        uint32 hi;
        uint32 step; // the located step once phase 1 is over
        uint32 op; // the located operator once phase 2 is over
        uint32 moves;
        bytes32 defenderRoot;
        bytes32 challengerRoot;
        bytes32 agreed; // S_lo in phase 1, c_lo in phase 2
        bytes32 start; // S_t of the located step (what the referee's prefix check starts from)
        bytes32 defenderHi; // each party's value at hi
        bytes32 challengerHi;
        bytes32 defenderPost; // this move's values
        bytes32 challengerPost;
        bytes32 revealedFinal; // the finalStateHash the defender revealed: its proven S_K must equal it
        uint256 bond;
        uint256 slashed;
    }

    /// @notice Thrown when the task's program is not verifiable (no K and M in its config).
    error DisputeGameNotVerifiable(uint256 taskId);
    /// @notice Thrown when the defender has not revealed in that round.
    error DisputeGameNotRevealed(uint256 taskId, uint32 round, address defender);
    /// @notice Thrown when the caller is not an eligible verifier, or accuses itself.
    error DisputeGameNotChallenger(address account);
    /// @notice Thrown when both final states agree: there is nothing to dispute.
    error DisputeGameNoDisagreement(bytes32 finalStateHash);
    /// @notice Thrown when a trace proof does not verify against the party's root.
    error DisputeGameInvalidProof(uint256 disputeId, address party, uint256 index);
    /// @notice Thrown for an unknown dispute id.
    error DisputeGameUnknownDispute(uint256 disputeId);
    /// @notice Thrown when the dispute is not at the stage the call needs.
    error DisputeGameWrongStage(uint256 disputeId, Stage expected, Stage actual);
    /// @notice Thrown when the caller is not the party this call needs.
    error DisputeGameNotParty(uint256 disputeId, address caller);
    /// @notice Thrown when the party already posted this move.
    error DisputeGameAlreadyPosted(uint256 disputeId, address party);
    /// @notice Thrown when a move comes after its deadline.
    error DisputeGameDeadlinePassed(uint256 disputeId, uint64 deadline, uint256 timestamp);
    /// @notice Thrown by timeout before the deadline.
    error DisputeGameDeadlineNotReached(uint256 disputeId, uint64 deadline, uint256 timestamp);
    /// @notice Thrown when the committee's signature does not verify.
    error DisputeGameInvalidVerdict(uint256 disputeId);
    /// @notice Thrown when a vote comes from an account outside the committee.
    error DisputeGameNotReferee(address account);
    /// @notice Thrown when the delta CID and salt given to openDelta are not the revealed ones.
    error DisputeGameNotRevealedDelta(uint256 taskId, uint32 round, address defender);
    /// @notice Thrown when a dispute over the submission already ended with a result.
    error DisputeGameAlreadyDecided(uint256 taskId, uint32 round, address defender);
    /// @notice Thrown when the challenger already disputed the submission (whatever the outcome).
    error DisputeGameAlreadyChallenged(uint256 taskId, uint32 round, address defender, address challenger);

    /// @notice Emitted when a dispute opens.
    event DisputeOpened(uint256 indexed disputeId, uint256 indexed taskId, uint32 indexed round, address defender, address challenger, uint256 bond);
    /// @notice Emitted for each value a party posts (index: step in phase 1, operator chain index in phase 2).
    event Posted(uint256 indexed disputeId, address indexed party, Stage stage, uint32 index, bytes32 value);
    /// @notice Emitted when a bisection move completes.
    event Moved(uint256 indexed disputeId, Stage stage, uint32 index, bool agreed, uint32 lo, uint32 hi, uint32 moves);
    /// @notice Emitted when the fault is localized and a verdict is awaited.
    event Located(uint256 indexed disputeId, uint32 step, uint32 op);
    /// @notice Emitted when a party publishes its evidence for the located operator (a content id).
    event EvidencePosted(uint256 indexed disputeId, address indexed party, bytes cid);
    /// @notice Emitted when a committee member publishes its signed vote, for anyone to aggregate.
    event VoteCast(uint256 indexed disputeId, uint256 indexed member, bytes32 outputHash, uint256 sigmaX, uint256 sigmaY);
    /// @notice Emitted when a dispute ends.
    event DisputeResolved(uint256 indexed disputeId, Party winner, bool cancelled, uint256 slashed);

    /// @notice Open a dispute against `defender`'s revealed submission in (`taskId`, `round`).
    /// @dev The caller must have approved the game for the bond.
    function open(
        uint256 taskId,
        uint32 round,
        address defender,
        bytes32 traceRoot,
        bytes32 s0,
        bytes32[] calldata proof0,
        bytes32 sK,
        bytes32[] calldata proofK
    ) external returns (uint256 disputeId);

    /// @notice Dispute the delta `defender` published in (`taskId`, `round`): the caller claims
    /// that `params(S_K) - base` (S_K the revealed final state) has a CID whose sha256 is
    /// `deltaHash`, not that of the revealed `deltaCid`. `deltaCid` and `salt` are the
    /// revealed ones (from the Revealed event), checked against the stored commitment. Goes
    /// straight to the verdict stage (operator FINAL_DELTA, step K). The caller must have
    /// approved the game for the bond.
    function openDelta(uint256 taskId, uint32 round, address defender, bytes calldata deltaCid, bytes32 salt, bytes32 deltaHash)
        external
        returns (uint256 disputeId);

    /// @notice The defender's answer: its S_0 and S_K proven against its revealed trace root;
    /// an S_K other than the revealed final state loses at once.
    function respond(uint256 disputeId, bytes32 s0, bytes32[] calldata proof0, bytes32 sK, bytes32[] calldata proofK) external;

    /// @notice Phase 1 move: the caller's S_m with its proof.
    function postState(uint256 disputeId, bytes32 value, bytes32[] calldata proof) external;

    /// @notice Phase 2 start: the caller's c_(M-1) for the located step.
    function postChainEnd(uint256 disputeId, bytes32 beforeLast) external;

    /// @notice Phase 2 move: the caller's c_m.
    function postChain(uint256 disputeId, bytes32 value) external;

    /// @notice A party publishes where its evidence for the located operator is (Awaiting a verdict).
    function postEvidence(uint256 disputeId, bytes calldata cid) external;

    /// @notice A committee member publishes its signature on abi.encode(chainId, game,
    /// voteKey(disputeId), outputHash); anyone may sum a threshold of matching votes into a verdict.
    function castVote(uint256 disputeId, bytes32 outputHash, BN254.G1Point calldata sigma) external;

    /// @notice Settle with the committee's verdict on the located operator's output hash.
    function submitVerdict(uint256 disputeId, bytes32 outputHash, uint256 signers, BN254.G2Point calldata apk2, BN254.G1Point calldata sigma) external;

    /// @notice After a missed deadline: the silent party loses (or, awaiting a verdict, the dispute is cancelled).
    function timeout(uint256 disputeId) external;

    /// @notice The dispute's full state.
    function getDispute(uint256 disputeId) external view returns (Dispute memory);

    /// @notice The index a move now asks for (phase 1: a step; phase 2: a chain index).
    function query(uint256 disputeId) external view returns (uint32);

    /// @notice The evidence CID `party` posted for the dispute (empty when none).
    function evidenceOf(uint256 disputeId, address party) external view returns (bytes memory);

    /// @notice Member `member`'s vote: the output hash and its signature (zero when it did not vote).
    function voteOf(uint256 disputeId, uint256 member) external view returns (bytes32 outputHash, BN254.G1Point memory sigma);

    /// @notice Number of disputes ever opened.
    function disputeCount() external view returns (uint256);

    /// @notice The deployment's parameters.
    function params() external view returns (GameParams memory);

    /// @notice The committee version (snapshot) whose members and weights decide the dispute.
    function snapshotOf(uint256 disputeId) external view returns (uint64);

    /// @notice Whether a dispute over the submission ended with a result (no new ones then).
    function isDecided(uint256 taskId, uint32 round, address defender) external view returns (bool);

    /// @notice Whether `challenger` already disputed the submission (once per pair).
    function hasChallenged(uint256 taskId, uint32 round, address defender, address challenger) external view returns (bool);

    /// @notice What the referees of a dispute awaiting its verdict sign, besides the chain, the
    /// game and the output hash: keccak256(abi.encode(taskId, round, defender, challenger, step,
    /// op, start, agreed)). It names the question by its content, so a vote cannot be replayed
    /// for another dispute that a reorg gave the same id.
    function voteKey(uint256 disputeId) external view returns (bytes32);

    /// @notice Longest a dispute over a K-step, M-operator round can stay open, in seconds.
    function maxDisputeDuration(uint32 steps, uint32 ops) external view returns (uint256);

    /// @notice maxDisputeDuration for the largest K and M a task may declare (the TaskManager's
    /// MAX_STEPS and MAX_OPS): no dispute of this game lasts longer.
    function worstCaseDisputeDuration() external view returns (uint256);

    /// @notice Worst-case seconds from a round's opening to when it can be finalized, from the
    /// task's config: its four phase durations plus, for a verifiable task, maxDisputeDuration
    /// (a dispute can only open before the Score/Challenge deadline, each one at most once per
    /// challenger, and all of them run in parallel), assuming anyone calls advance and timeout
    /// when they become callable.
    function maxRoundDuration(uint256 taskId) external view returns (uint256);
}
