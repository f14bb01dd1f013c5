/** The broker conformance suite, for anyone writing another broker. */
export { brokerContract, type MakeBroker } from './broker-contract.ts';
