/** Client ids of trades a user places through the API start with this; copies start with `mc`. */
export const MANUAL_CLIENT_ID_PREFIX = 'api';

/**
 * The client id of one trade request made through the API: `api` and 20 hex digits (80 bits
 * of randomness), 23 characters, within MetaApi's 26 for client id and comment together (no
 * comment is sent). Fresh per request: two requests are two trades.
 */
export const manualClientId = (randomHex: string): string => {
  if (!/^[0-9a-f]{20,}$/.test(randomHex)) throw new Error('manualClientId needs at least 20 lowercase hex digits');
  return `${MANUAL_CLIENT_ID_PREFIX}${randomHex.slice(0, 20)}`;
};
