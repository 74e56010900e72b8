"""
The article's save in Django on SQLite, for `npm run bench`'s side-by-side figures, driven as
bench/engineRun.ts is: a Profile with a name and an ImageField (upload_to a uuid4 name), N rows already in
the table and 1,000 untimed saves, then "READY"; each line `save <n>` on stdin runs n timed saves of
fixtures/image.png through profile.picture.save() and answers one JSON line of their times; `finish`
answers Profile.objects.last(), lookups by file name and by name, and the peak memory while the timed saves
ran. Run with Debian's /usr/bin/python3 (python3-django, python3-pil).

usage: save.py <workspace folder> <existing rows> <fixture image>
"""
import json
import os
import sys
import threading
import time
import uuid

workspace, existing, fixture = sys.argv[1], int(sys.argv[2]), sys.argv[3]
app = os.path.join(workspace, 'benchapp')
os.makedirs(app, exist_ok=True)
open(os.path.join(app, '__init__.py'), 'w').close()
with open(os.path.join(app, 'models.py'), 'w') as models:
    models.write('''import os, uuid
from django.db import models

def profile_pic_path(instance, filename):
    return 'profile_pics/%s%s' % (uuid.uuid4(), os.path.splitext(filename)[1].lower())

class Profile(models.Model):
    name = models.CharField(max_length=100, blank=True)
    picture = models.ImageField(upload_to=profile_pic_path)
''')
sys.path.insert(0, workspace)

import django
from django.conf import settings

settings.configure(
    INSTALLED_APPS=['benchapp'],
    DATABASES={'default': {'ENGINE': 'django.db.backends.sqlite3', 'NAME': os.path.join(workspace, 'db.sqlite3')}},
    MEDIA_ROOT=os.path.join(workspace, 'media'),
    MEDIA_URL='/media/',
    DEFAULT_AUTO_FIELD='django.db.models.BigAutoField',
    USE_TZ=True,
)
django.setup()

from django.core.files import File
from django.db import connection
from benchapp.models import Profile

with connection.schema_editor() as editor:
    editor.create_model(Profile)
batch = []
for index in range(1, existing + 1):
    batch.append(Profile(name='user %d' % index, picture='profile_pics/seed-%d.png' % index))
    if len(batch) == 5000:
        Profile.objects.bulk_create(batch)
        batch = []
Profile.objects.bulk_create(batch)


def rss_mib():
    with open('/proc/self/statm') as statm:
        return int(statm.read().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 1048576


peak = [rss_mib()]
sampling = [True]


def sample():
    while sampling[0]:
        peak[0] = max(peak[0], rss_mib())
        time.sleep(0.002)


# Not timed: the first saves import what they need and warm the caches (as many as the TypeScript side's).
for index in range(1000):
    with open(fixture, 'rb') as source:
        Profile(name='warm %d' % index).picture.save('my-image.png', File(source))

start_rss = rss_mib()
sampler = threading.Thread(target=sample, daemon=True)
sampler.start()


def median_ms(action, rounds=100):
    spent = []
    for round_ in range(rounds):
        started = time.perf_counter()
        action(round_)
        spent.append((time.perf_counter() - started) * 1000)
    spent.sort()
    return spent[len(spent) // 2]


def answer(value):
    sys.stdout.write(json.dumps(value) + '\n')
    sys.stdout.flush()


saved = 0
sys.stdout.write('READY\n')
sys.stdout.flush()
for line in sys.stdin:
    command = line.split()
    if command[:1] == ['save']:
        times = []
        for _ in range(int(command[1])):
            with open(fixture, 'rb') as source:
                profile = Profile(name='new %d' % saved)
                saved += 1
                started = time.perf_counter()
                profile.picture.save('my-image.png', File(source))
                times.append((time.perf_counter() - started) * 1000)
        answer({'times': times})
    elif command[:1] == ['finish']:
        sampling[0] = False
        sampler.join()
        peak[0] = max(peak[0], rss_mib())
        seed = lambda i: i * 7 % max(existing, 1) + 1
        answer({
            'peakRssMiB': peak[0],
            'saveGrowthMiB': peak[0] - start_rss,
            'lastMs': median_ms(lambda _: Profile.objects.last()),
            'byFileNameMs': median_ms(lambda i: Profile.objects.filter(picture='profile_pics/seed-%d.png' % seed(i)).first()),
            'byNameMs': median_ms(lambda i: Profile.objects.filter(name='user %d' % seed(i)).first()),
        })
        break
