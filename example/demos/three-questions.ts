// 1. Where does the file go? uploadTo picks the name, the storage the place, MEDIA_URL the address.
const profile = new Profile()
await profile.picture.save('my-image.png', new File(fs.openSync(sampleImage)))
profile.picture.name
profile.picture.path
profile.picture.url
// 2. What if two names clash? The second save gets a free name: nothing is overwritten.
await storage.save('notes/clash.txt', new ContentFile('first'))
await storage.save('notes/clash.txt', new ContentFile('second'))
await storage.listdir('notes')
// 3. What if it is not an image? The bytes are checked, not the name: nothing is stored.
await profile.picture.save('fake.png', new ContentFile('<html>not an image</html>'))
profile.picture.name
