// The Django article's session, in TypeScript: a profile gets a picture.
const f = fs.openSync(sampleImage)
const profile = new Profile()
await profile.picture.save('my-image.png', new File(f))
profile.picture.name
profile.picture.path
profile.picture.url
// The row was saved too: read it back.
(await Profile.objects.last()).picture.url
