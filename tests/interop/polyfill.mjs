// Loaded with `node --import ./polyfill.mjs`: js-libp2p 3 calls Promise.withResolvers,
// which Node only has from v22. Defined here only when missing, so Node 22+ is untouched.
if (typeof Promise.withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers () {
      let resolve
      let reject
      const promise = new this((res, rej) => {
        resolve = res
        reject = rej
      })
      return { promise, resolve, reject }
    }
  })
}
