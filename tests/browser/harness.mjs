// Starts the mock upstream and a fresh gateway from the prebuilt debug binaries, and
// headless Debian Chromium through playwright-core. Everything started here is stopped
// by `stopAll()`, which the tests call in `after` (also when a step failed).

import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { randomBytes } from "node:crypto";
import { chromium } from "playwright-core";

const HERE = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(HERE, "../..");
export const ARTIFACTS = join(HERE, "artifacts");
const TARGET = process.env.CARGO_TARGET_DIR ? resolve(process.env.CARGO_TARGET_DIR) : join(ROOT, "target");
const BIN = { gateway: join(TARGET, "debug", "gateway"), mock: join(TARGET, "debug", "mock-upstream") };
const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";

const children = [];
let browserRef = null;
let tempDir = null;

function missing() {
  const lacking = Object.values(BIN).filter((p) => !existsSync(p));
  if (lacking.length) {
    return `missing ${lacking.join(", ")}: run \`cargo build -p gateway -p integration-tests --bin gateway --bin mock-upstream\` first`;
  }
  if (!existsSync(CHROMIUM)) return `missing ${CHROMIUM}: install Debian's chromium package`;
  return null;
}

/** Spawns `cmd` and resolves with the first match of `pattern` in its output. */
function startProcess(name, cmd, args, options, pattern, timeoutMs = 60000) {
  const child = spawn(cmd, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let log = "";
  return new Promise((resolveP, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within ${timeoutMs} ms:\n${log}`)), timeoutMs);
    const onData = (buf) => {
      log += buf.toString();
      if (log.length > 200000) log = log.slice(-100000);
      const m = pattern.exec(log);
      if (m) { clearTimeout(timer); resolveP({ child, match: m, log: () => log }); }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code, sig) => { clearTimeout(timer); reject(new Error(`${name} exited (${code ?? sig}) before it was ready:\n${log}`)); });
    child.on("error", (e) => { clearTimeout(timer); reject(e); });
  });
}

/** The provider key the mock upstream requires (channels with another key get a 401). */
export const MOCK_KEY = "sk-mock-upstream-key-0123456789";

/**
 * Starts mock + gateway + Chromium. Returns {gatewayUrl, mockUrl, browser, gatewayLog,
 * adminPassword}: the first-run password the gateway logged, else the old default.
 */
export async function startAll() {
  const why = missing();
  if (why) throw new Error(why);
  rmSync(ARTIFACTS, { recursive: true, force: true });
  mkdirSync(ARTIFACTS, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), "gw-console-"));
  tempDir = dir;

  const mock = await startProcess("mock-upstream", BIN.mock, ["--port", "0", "--api-key", MOCK_KEY], { cwd: dir }, /listening on (http:\/\/\S+)/);
  const mockUrl = mock.match[1];

  const env = {
    PATH: process.env.PATH,
    HOME: dir,
    HOST: "127.0.0.1",
    PORT: "0",
    DATABASE_URL: `sqlite://${dir}/gw.db`,
    JWT_SECRET: randomBytes(32).toString("hex"),
    RUST_LOG: "info",
  };
  const gw = await startProcess("gateway", BIN.gateway, [], { cwd: dir, env }, /gateway listening on port (\d+)/);
  const gatewayUrl = `http://127.0.0.1:${gw.match[1]}`;

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  browserRef = browser;
  const logged = /initial admin password: (\S+)/.exec(gw.log());
  return { gatewayUrl, mockUrl, browser, gatewayLog: gw.log, adminPassword: logged ? logged[1] : "123456" };
}

function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const kill = setTimeout(() => child.kill("SIGKILL"), 5000);
    child.once("exit", () => { clearTimeout(kill); done(); });
    child.kill("SIGTERM");
  });
}

/** Closes the browser, stops both processes and removes the temp directory. */
export async function stopAll() {
  if (browserRef) {
    await browserRef.close().catch(() => {});
    browserRef = null;
  }
  await Promise.all(children.splice(0).map(stop));
  if (tempDir) {
    rmSync(tempDir, { recursive: true, force: true });
    tempDir = null;
  }
}

// A test runner interrupted by Ctrl-C still stops the servers.
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.once(sig, () => { for (const c of children) c.kill("SIGKILL"); process.exit(130); });
}
process.once("exit", () => { for (const c of children) if (c.exitCode === null) c.kill("SIGKILL"); });
