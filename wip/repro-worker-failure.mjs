const ae = await import(new URL('../dist/index.js', import.meta.url).href);
console.log(ae.getBackend().name, ae.getBackend().threads);
const ds = ae.data.loadEmbeddedMnist('train');
async function run() {
  ae.manualSeed(3);
  const m = ae.models.buildModel(ae.models.defaultConfig('cnn', [1, 28, 28], {}));
  const t = new ae.Trainer(m, { ...ds, n: 2048, images: ds.images.subarray(0, 2048 * 784), labels: ds.labels.subarray(0, 2048) }, null, { ...ae.defaultTrainConfig, epochs: 1, batchSize: 64, seed: 3 });
  await t.fit();
  return m.parameters().map((p) => Array.from(p.data));
}
const a = await run(); const b = await run();
let diff = 0; a.forEach((x, i) => x.forEach((v, j) => { if (v !== b[i][j]) diff++; }));
console.log('differing weights:', diff);
process.exit(0);
