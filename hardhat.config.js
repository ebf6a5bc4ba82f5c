// Hardhat compiles the same sources as meritnet's Python compiler, offline, with the npm
// `solc` package (solcjs): the subtask below hands Hardhat the local compiler instead of
// letting it download one. `npx hardhat node` then serves a devnet on 127.0.0.1:8545 that
// `meritnet deploy --rpc http://127.0.0.1:8545` can use.
const { subtask } = require("hardhat/config");
const { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } = require("hardhat/builtin-tasks/task-names");

const solcPackage = require("solc/package.json");

subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async (args, hre, runSuper) => {
  if (args.solcVersion !== solcPackage.version) {
    return runSuper();
  }
  const solc = require("solc");
  return {
    compilerPath: require.resolve("solc/soljson.js"),
    isSolcJs: true,
    version: args.solcVersion,
    longVersion: solc.version(),
  };
});

/** @type import('hardhat/config').HardhatUserConfig */
module.exports = {
  solidity: {
    version: solcPackage.version,
    settings: {
      evmVersion: "prague",
      viaIR: true,
      optimizer: { enabled: true, runs: 200 },
    },
  },
  paths: {
    sources: "./contracts",
    artifacts: "./.meritnet/hardhat/artifacts",
    cache: "./.meritnet/hardhat/cache",
  },
  networks: {
    hardhat: { hardfork: "prague", chainId: 31337 },
  },
};
