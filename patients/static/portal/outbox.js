/* Reports made without signal, kept on the device (IndexedDB) until the API has them.
 * Each keeps the time it was made (`occurred_at`) and its idempotency key: sent again after a lost answer, the
 * API answers 200 with the entry it stored the first time, never a second entry.
 */
import { ApiError, Offline, post } from "./api.js";

const DB = "portal";
const STORE = "outbox";

function open() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: "key" });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function run(mode, work) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const result = work(tx.objectStore(STORE));
    tx.oncomplete = () => { db.close(); resolve(result && "result" in result ? result.result : undefined); };
    tx.onerror = () => { db.close(); reject(tx.error); };
  });
}

/** Keep a report: {key, kind, occurred_at, answers, patient} (`patient`: the id of whoever made it). */
export const keep = (report) => run("readwrite", (store) => store.put(Object.assign({ state: "waiting", error: null }, report)));
/** The reports of one patient kept on this device, oldest first. */
export async function waiting(patient) {
  const all = (await run("readonly", (store) => store.getAll())) || [];
  return all.filter((r) => r.patient === patient).sort((a, b) => a.occurred_at.localeCompare(b.occurred_at));
}
export const drop = (key) => run("readwrite", (store) => store.delete(key));
export const clear = () => run("readwrite", (store) => store.clear());

/** Send one report with its key; the same call for a fresh report and for one kept from before. */
export function send(report) {
  const body = { kind: report.kind, answers: report.answers };
  if (report.occurred_at_kept) { body.occurred_at = report.occurred_at; }
  return post("assessments/", body, { "Idempotency-Key": report.key });
}

let flushing = null;

/** Send what `patient` has waiting, oldest first; stops at the first network failure. Returns the stored entries. */
export function flush(patient) {
  if (!flushing) {
    flushing = flushOnce(patient).finally(() => { flushing = null; });
  }
  return flushing;
}

async function flushOnce(patient) {
  const sent = [];
  for (const report of await waiting(patient)) {
    if (report.state !== "waiting") { continue; }
    try {
      const entry = await send(report);
      await drop(report.key);
      sent.push(entry);
    } catch (error) {
      if (error instanceof Offline) { break; }
      if (error instanceof ApiError && error.status === 400) {
        // Refused for good (e.g. too old by now): kept and shown with the reason, for the patient to discard.
        report.state = "refused";
        report.error = error.errors.map((e) => e.message).join(" ");
        await keep(report);
        continue;
      }
      break;  // signed out, throttled, server trouble: tried again later
    }
  }
  return sent;
}
