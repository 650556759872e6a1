# git: a repository of 500 generated files; add, commit, log, diff, branch, checkout, a clean
# 3-way merge and one with a conflict resolved by hand, rebase, tag, blame, stash, gc, fsck,
# clone, archive. Run by tests/debian/run (bash, TZ=UTC LC_ALL=C). Every commit has fixed
# names and dates (GIT_AUTHOR_*/GIT_COMMITTER_*), so its hash is the same on every run; the
# configuration is a file of this test's own (no system or /root configuration is read).
# Files under /var/tmp/dt-git (removed at the end).
W=/var/tmp/dt-git
rm -rf $W; mkdir -p $W; cd $W || exit 1
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=$W/gitconfig
export GIT_AUTHOR_NAME="Ada Author" GIT_AUTHOR_EMAIL=ada@example.org
export GIT_COMMITTER_NAME="Cy Committer" GIT_COMMITTER_EMAIL=cy@example.org
git config --global init.defaultBranch main
git config --global core.pager cat
git config --global advice.detachedHead false
git config --global gc.auto 0
when=1700000000
tick() { when=$((when + 3600)); export GIT_AUTHOR_DATE="@$when +0000" GIT_COMMITTER_DATE="@$when +0000"; }
sec() { echo "== $*"; }

sec init and the first commit
git init -q repo; cd repo
for d in 0{0..9}; do
    mkdir -p dir$d
    for f in $(seq -w 0 49); do
        printf 'file %s/%s\nline two of %s%s\n' "$d" "$f" "$d" "$f" > dir$d/file$f.txt
    done
done
cat > story.txt <<'EOF'
line 1: once upon a time
line 2: there was a kernel
line 3: written in Rust
line 4: for RISC-V
line 5: it ran Linux programs
line 6: unmodified
line 7: bash and coreutils
line 8: python and perl
line 9: git and gcc
line 10: the end
EOF
printf '#!/bin/sh\necho tool\n' > tool.sh; chmod 755 tool.sh
git status --short | wc -l
git add -A
git status --short | head -3; git status --short | cut -c1-2 | sort | uniq -c
git ls-files | wc -l; git ls-files -s tool.sh story.txt
tick; git commit -q -m "initial: 500 generated files"
git rev-parse HEAD HEAD^{tree}
git log --format='%H %an <%ae> %ad | %cn %cd | %s' --date=iso-strict
git count-objects -v | grep -E '^(count|in-pack):'
git cat-file -t HEAD; git cat-file -p HEAD; git cat-file -p HEAD:dir03 | head -2; git cat-file -s HEAD:story.txt

sec modify, diff, commit
sed -i 's/there was a kernel/there was a small kernel/' story.txt
printf 'appended\n' >> dir05/file07.txt
rm dir09/file49.txt
printf 'new\n' > newfile.txt
git status --short
git diff
git diff --stat
git add -A; git diff --cached --name-status
tick; git commit -q -m "second: edit, append, delete, add"
git log --oneline
git diff --stat HEAD~1 HEAD; git diff --shortstat HEAD~1
git show --stat --format='%h %s' HEAD | cat
git rev-list --count HEAD; git ls-files | wc -l

sec branch and clean 3-way merge
git checkout -q -b feature
sed -i 's/^line 2: .*/line 2: there was a small, fast kernel/' story.txt
printf 'feature file\n' > feature.txt
git add -A; tick; git commit -q -m "feature: faster kernel"
git checkout -q main
sed -i 's/^line 9: .*/line 9: git and gcc and make/' story.txt
printf 'changed on main\n' >> dir00/file00.txt
tick; git commit -q -a -m "main: make"
git branch --list; git branch -v --no-abbrev | sed 's/ *$//'
git merge-base main feature
tick; git merge --no-edit feature; echo "merge status=$?"
cat story.txt
git log --graph --format='%h %s' | cat
git rev-parse HEAD; git cat-file -p HEAD | grep -c '^parent'

sec merge with a conflict
git checkout -q -b conflicting
sed -i 's/^line 4: .*/line 4: for RISC-V 64/' story.txt
tick; git commit -q -a -m "conflicting: RV64"
git checkout -q main
sed -i 's/^line 4: .*/line 4: for rv64gc/' story.txt
tick; git commit -q -a -m "main: rv64gc"
tick; git merge --no-edit conflicting; echo "merge status=$?"
git status --short
git diff | cat
sed -n '3,9p' story.txt
git ls-files -u | awk '{ print $1, $3, $4 }'
sed -i -e '/^<<<<<<< /d' -e '/^=======/d' -e '/^>>>>>>> /d' -e '/^line 4: for rv64gc$/d' -e 's/^line 4: for RISC-V 64$/line 4: for RISC-V 64 (rv64gc)/' story.txt
git add story.txt; tick; git commit -q --no-edit; echo "commit status=$?"
git log -1 --format='%H %P%n%s'
sed -n 4p story.txt
git log --format='%h %s' --first-parent | cat

sec rebase, tag, blame, stash, reset
git checkout -q -b topic HEAD~2
printf 'topic 1\n' > topic.txt; git add topic.txt; tick; git commit -q -m "topic: one"
printf 'topic 2\n' >> topic.txt; tick; git commit -q -a -m "topic: two"
tick; git rebase -q main; echo "rebase status=$?"
git log --format='%h %s' -4 | cat
git checkout -q main; git merge -q --ff-only topic; git rev-parse HEAD
git tag -a v1.0 -m "release 1.0"; git tag light; git tag -l; git describe --tags; git cat-file -p v1.0 | head -4
git blame -s story.txt | sed -n '1,4p'
printf 'work in progress\n' >> story.txt; git stash -q; git status --short | wc -l
git stash list | sed 's/:.*//'; git stash pop -q; git diff --stat | tail -1; git checkout -- story.txt
git reset -q --hard HEAD~1; git rev-parse --short HEAD; git reset -q --hard v1.0; git rev-parse --short HEAD
git show HEAD~3:story.txt | sed -n 2p; git log --format=%s -S 'fast kernel' | cat
git grep -c 'line two' -- 'dir00/*' | head -2; git grep -n 'RISC' -- story.txt

sec gc, fsck, clone, archive
git gc -q; git count-objects -v | grep -E '^(count|packs):'; git fsck --no-progress --strict 2>&1 | sort; echo "fsck status=${PIPESTATUS[0]}"
cd $W; git clone -q repo clone; cd clone
git log --format='%H %s' -1; git ls-files | wc -l; git branch -r | sed 's/ *$//'
git archive --format=tar HEAD | tar tf - | wc -l
git archive --format=tar HEAD dir00 | tar xOf - dir00/file00.txt
git config --get remote.origin.url | sed "s#$W#W#"
cd $W/repo; git checkout -q feature; ls | wc -l; git checkout -q main; ls | wc -l
[ -x tool.sh ] && ./tool.sh

cd /; rm -rf $W
echo done
