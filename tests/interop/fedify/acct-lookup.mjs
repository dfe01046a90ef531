// Child process of acct-over-tls.test.mjs: resolves acct: handles with fedify and
// prints what it found as one JSON line. It runs in its own process so that
// NODE_EXTRA_CA_CERTS (read only at start-up) can make the test's self-signed
// certificate trusted, with certificate checking left on.
//
// Usage: node acct-lookup.mjs DOMAIN   (DOMAIN as in FULMAR_DOMAIN, e.g. localhost:8080)

import {
  getDocumentLoader,
  isActor,
  lookupObject,
  lookupWebFinger,
} from "@fedify/fedify";

const domain = process.argv[2];
const documentLoader = getDocumentLoader({ allowPrivateAddress: true });
const options = { documentLoader, contextLoader: documentLoader, allowPrivateAddress: true };

function describeActor(a) {
  if (a == null) return null;
  return {
    class: a.constructor.name,
    isActor: isActor(a),
    id: a.id?.href ?? null,
    preferredUsername: a.preferredUsername?.toString() ?? null,
    inbox: a.inboxId?.href ?? null,
    publicKeyId: a.publicKeyId?.href ?? null,
  };
}

const out = {};
out.jrd = await lookupWebFinger(`acct:alice@${domain}`, { allowPrivateAddress: true });
const alice = await lookupObject(`@alice@${domain}`, options);
out.alice = describeActor(alice);
if (alice) {
  const key = await alice.getPublicKey(options);
  out.aliceKeyOwner = key?.ownerId?.href ?? null;
  out.aliceKeyParsed = key?.publicKey?.type === "public";
}
out.instance = describeActor(await lookupObject(`acct:${domain}@${domain}`, options));
process.stdout.write(JSON.stringify(out) + "\n");
